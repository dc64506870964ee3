// Handlers for the ai.* channels: stored results, study runs with progress events to the calling
// connection (and cancellation), and masks for the viewer's overlay.
import { AI_PROGRESS_EVENT, WorkstationError } from '../../contract';
import type { CallContext, Handlers } from '../handler-table';
import type { Services } from '../workstation-types';

function who(ctx: CallContext): { actor: string; actorId: string | null } {
  if (!ctx.session) throw new WorkstationError('UNAUTHENTICATED', 'Please sign in.');
  return { actor: ctx.session.username, actorId: ctx.session.userId };
}

export function aiHandlers(services: Pick<Services, 'aiResults' | 'aiBackground'>): Pick<Handlers, 'ai.studyResult' | 'ai.studyStatuses' | 'ai.runStudy' | 'ai.cancel' | 'ai.mask'> {
  const { aiResults, aiBackground } = services;
  return {
    'ai.studyResult': (req) => aiResults.studyResult(req.studyId),
    'ai.studyStatuses': (req) => ({ statuses: aiBackground.annotate(aiResults.statuses(req.studyIds)) }),
    'ai.runStudy': (req, ctx) =>
      aiResults.runStudy(req.studyId, { ...who(ctx), force: req.force, onProgress: (data) => ctx.connection.emit({ event: AI_PROGRESS_EVENT, data }) }),
    'ai.cancel': (req) => ({ cancelled: aiResults.cancel(req.studyId) }),
    'ai.mask': (req) => aiResults.mask(req.instanceId, req.frame),
  };
}
