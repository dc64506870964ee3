// Handlers for the tips.* and care.* channels: admins edit the health tips; patients and the
// care team read them, and the care-team and emergency information built from the settings.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type CareChannels = Extract<keyof Handlers, `tips.${string}` | `care.${string}`>;

export function careHandlers(services: Pick<Services, 'care'>): Pick<Handlers, CareChannels> {
  const { care } = services;
  return {
    'tips.list': () => ({ tips: care.listTips() }),
    'tips.save': (req, ctx) => ({ tip: care.saveTip(sessionOf(ctx.session), req) }),
    'tips.delete': (req, ctx) => {
      care.deleteTip(sessionOf(ctx.session), req.id);
      return { deleted: true as const };
    },
    'care.info': () => care.info(),
  };
}
