// Handlers for the system.* channels.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';

export function systemHandlers(services: Services): Pick<Handlers, 'system.info' | 'system.health'> {
  return {
    'system.info': () => services.system.info(),
    'system.health': () => services.system.health(),
  };
}
