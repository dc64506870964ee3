// Handlers for the DICOM channels: imports (with progress events to the calling connection and
// cancel), chunked uploads owned by the connection, the worklist, study views and frames.
import { IMPORT_PROGRESS_EVENT, WorkstationError } from '../../contract';
import type { Handlers, CallContext } from '../handler-table';
import type { Services } from '../workstation-types';

function who(ctx: CallContext): { actor: string; actorId: string | null } {
  if (!ctx.session) throw new WorkstationError('UNAUTHENTICATED', 'Please sign in.');
  return { actor: ctx.session.username, actorId: ctx.session.userId };
}

export function dicomHandlers(
  services: Pick<Services, 'dicom'>,
): Pick<Handlers, 'import.paths' | 'import.cancel' | 'import.uploadBegin' | 'import.uploadChunk' | 'import.uploadFinish' | 'studies.list' | 'studies.get' | 'studies.priors' | 'images.tags' | 'images.frame'> {
  const { dicom } = services;
  const progress = (ctx: CallContext) => (data: unknown) => ctx.connection.emit({ event: IMPORT_PROGRESS_EVENT, data });
  return {
    'import.paths': (req, ctx) => dicom.importPaths(req.paths, { ...who(ctx), onProgress: progress(ctx) }),
    'import.cancel': (req) => ({ cancelled: dicom.cancel(req.importId) }),
    'import.uploadBegin': (req, ctx) => {
      who(ctx);
      return dicom.beginUpload(req.name, req.size, ctx.connection.id);
    },
    'import.uploadChunk': (req, ctx) => {
      who(ctx);
      const data = Buffer.from(req.data, 'base64');
      return dicom.uploadChunk(req.uploadId, req.offset, data, ctx.connection.id);
    },
    'import.uploadFinish': (req, ctx) => dicom.finishUploads(req.uploadIds, ctx.connection.id, { ...who(ctx), onProgress: progress(ctx) }),
    'studies.list': (req) => dicom.listStudies(req),
    'studies.get': (req, ctx) => dicom.getStudy(req.studyId, who(ctx)),
    'studies.priors': (req) => ({ studies: dicom.index.priors(req.studyId) }),
    'images.tags': (req, ctx) => dicom.getTags(req.instanceId, who(ctx)),
    'images.frame': (req) => dicom.getFrame(req.instanceId, req.frame),
  };
}
