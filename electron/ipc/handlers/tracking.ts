// Handler for tracking.patient: the table has checked the session, the role and the payload.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';

export function trackingHandlers(services: Pick<Services, 'tracking'>): Pick<Handlers, 'tracking.patient'> {
  return { 'tracking.patient': (req) => services.tracking.patient(req.studyId) };
}
