// Handlers for the measurements.* channels: the session's user is the author; the service checks
// that only the author changes or deletes a measurement.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type MeasurementChannels = Extract<keyof Handlers, `measurements.${string}`>;

export function measurementsHandlers(services: Pick<Services, 'measurements'>): Pick<Handlers, MeasurementChannels> {
  const { measurements } = services;
  return {
    'measurements.list': (req, ctx) => ({ measurements: measurements.list(req.studyId, sessionOf(ctx.session)) }),
    'measurements.save': (req, ctx) => measurements.save(req, sessionOf(ctx.session)),
    'measurements.delete': (req, ctx) => measurements.remove(req.id, sessionOf(ctx.session)),
  };
}
