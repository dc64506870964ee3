// Handlers for the settings.* channels (admin only). Each change is an audit row naming the keys.
import type { Handlers } from '../handler-table';
import type { Services } from '../compose';
import { sessionOf } from './auth';

export function settingsHandlers(services: Services): Pick<Handlers, 'settings.get' | 'settings.update'> {
  const { settings, audit } = services;
  return {
    'settings.get': () => settings.get(),
    'settings.update': (req, ctx) => {
      const s = sessionOf(ctx.session);
      const { settings: next, changed } = settings.update(req, s.username);
      if (changed.length) audit.append({ actorId: s.userId, actor: s.username, action: 'settings.update', objectType: 'settings', outcome: 'success', detail: { keys: changed.join(',') } });
      return next;
    },
  };
}
