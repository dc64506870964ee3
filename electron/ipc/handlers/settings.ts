// Handlers for the settings.* channels (admin only). Each change is an audit row naming the keys.
// The inference runtime is also applied at once: checked before anything is stored (an
// unavailable runtime is refused with the detection's reason), switched after.
import { WorkstationError } from '../../contract';
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

export function settingsHandlers(services: Services): Pick<Handlers, 'settings.get' | 'settings.update'> {
  const { settings, audit, inference, auth, aiBackground } = services;
  return {
    'settings.get': () => settings.get(),
    'settings.update': (req, ctx) => {
      const s = sessionOf(ctx.session);
      // Saving the page sends every field: only a changed runtime is checked, so a stored one
      // that stopped loading does not block saving the other settings.
      if (req.inferenceRuntime !== undefined && req.inferenceRuntime !== settings.get().inferenceRuntime) inference.checkRuntime(req.inferenceRuntime);
      // The care team and the duty list name radiologist accounts, nothing else.
      const radiologists = new Set(auth.listUsers().filter((u) => u.role === 'radiologist').map((u) => u.id));
      for (const key of ['careTeamUserIds', 'onDutyUserIds'] as const) {
        if (req[key]?.some((id) => !radiologists.has(id))) {
          throw new WorkstationError('INVALID_INPUT', 'The care team and the duty list can only name radiologist accounts. Reload the page: an account may have changed.', { details: { fields: [key] } });
        }
      }
      const { settings: next, changed } = settings.update(req, s.username);
      if (changed.includes('inferenceRuntime')) inference.setPreferredRuntime(next.inferenceRuntime);
      // Off cancels the study being scored and empties the queue; on queues the unscored ones.
      if (changed.includes('backgroundScoring')) aiBackground.settingChanged();
      if (changed.length) audit.append({ actorId: s.userId, actor: s.username, action: 'settings.update', objectType: 'settings', outcome: 'success', detail: { keys: changed.join(',') } });
      return next;
    },
  };
}
