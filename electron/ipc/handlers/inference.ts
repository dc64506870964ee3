// Handlers for the models.* and inference.* channels.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';

export function inferenceHandlers(services: Pick<Services, 'inference'>): Pick<Handlers, 'models.list' | 'inference.status'> {
  return {
    'models.list': async () => ({ models: await services.inference.listModels() }),
    'inference.status': () => services.inference.status(),
  };
}
