// Handlers for the settings.* channels (admin only). Each change is an audit row naming the keys.
// The inference runtime is also applied at once: checked before anything is stored (an
// unavailable runtime is refused with the detection's reason), switched after.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

export function settingsHandlers(services: Services): Pick<Handlers, 'settings.get' | 'settings.update'> {
  const { settings, audit, inference } = services;
  return {
    'settings.get': () => settings.get(),
    'settings.update': (req, ctx) => {
      const s = sessionOf(ctx.session);
      // Saving the page sends every field: only a changed runtime is checked, so a stored one
      // that stopped loading does not block saving the other settings.
      if (req.inferenceRuntime !== undefined && req.inferenceRuntime !== settings.get().inferenceRuntime) inference.checkRuntime(req.inferenceRuntime);
      const { settings: next, changed } = settings.update(req, s.username);
      if (changed.includes('inferenceRuntime')) inference.setPreferredRuntime(next.inferenceRuntime);
      if (changed.length) audit.append({ actorId: s.userId, actor: s.username, action: 'settings.update', objectType: 'settings', outcome: 'success', detail: { keys: changed.join(',') } });
      return next;
    },
  };
}
