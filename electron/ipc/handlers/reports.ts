// Handlers for the reports.* channels: the session becomes the service's actor; the table has
// already checked the role against the permission matrix and the payload against its schema.
import { WorkstationError } from '../../contract';
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type ReportsChannels = Extract<keyof Handlers, `reports.${string}`>;

function pngFrom(base64: string): Buffer {
  const m = /^(?:data:image\/png;base64,)?([A-Za-z0-9+/=\s]+)$/.exec(base64);
  if (!m) throw new WorkstationError('INVALID_INPUT', 'The key image must be a base64 PNG.');
  return Buffer.from(m[1]!, 'base64');
}

export function reportsHandlers(services: Services): Pick<Handlers, ReportsChannels> {
  const { reports } = services;
  return {
    'reports.dashboard': (req) => reports.dashboard(req),
    'reports.statusForStudies': (req) => ({ statuses: reports.statusForStudies(req.studyIds) }),
    'reports.open': (req, ctx) => reports.open(req.studyId, sessionOf(ctx.session)),
    'reports.get': (req, ctx) => reports.get(req.reportId, sessionOf(ctx.session)),
    'reports.saveDraft': (req, ctx) => reports.saveDraft(req, sessionOf(ctx.session)),
    'reports.saveNotes': (req, ctx) => reports.saveNotes(req.reportId, req.notes, sessionOf(ctx.session)),
    'reports.acceptAi': (req, ctx) => reports.acceptAi(req.reportId, sessionOf(ctx.session)),
    'reports.rejectAi': (req, ctx) => reports.rejectAi(req.reportId, req.reason, sessionOf(ctx.session)),
    'reports.markPreliminary': (req, ctx) => reports.markPreliminary(req.reportId, sessionOf(ctx.session)),
    // The password (and TOTP code) go to the reports service, which has auth confirm them before
    // anything is signed; they are never stored or logged.
    'reports.sign': (req, ctx) => reports.sign(req.reportId, req.baseRevision, sessionOf(ctx.session), { password: req.password, totpCode: req.totpCode }),
    'reports.addAddendum': (req, ctx) => reports.addAddendum(req.reportId, req.text, sessionOf(ctx.session), { password: req.password, totpCode: req.totpCode }),
    'reports.addKeyImage': (req, ctx) => reports.addKeyImage({ reportId: req.reportId, png: pngFrom(req.pngBase64), caption: req.caption, instanceId: req.instanceId }, sessionOf(ctx.session)),
    'reports.removeKeyImage': (req, ctx) => reports.removeKeyImage(req.reportId, req.keyImageId, sessionOf(ctx.session)),
    'reports.keyImage': (req, ctx) => {
      const s = sessionOf(ctx.session);
      // A patient reads key images of their own signed reports only; anything else is "no such image".
      if (s.role === 'patient' && !reports.patientSummaries(s, req.reportId).some((r) => r.keyImages.some((k) => k.id === req.keyImageId))) {
        services.audit.append({ actorId: s.userId, actor: s.username, action: 'report.key-image', objectType: 'report', objectId: req.reportId, outcome: 'refused', detail: { code: 'NOT_FOUND' } });
        throw new WorkstationError('NOT_FOUND', 'There is no such image in your results.');
      }
      return { pngBase64: reports.keyImagePng(req.reportId, req.keyImageId).toString('base64') };
    },
    'reports.history': (req) => reports.history(req.studyId),
    'reports.verify': (req, ctx) => {
      const result = reports.verify(req.reportId);
      const a = sessionOf(ctx.session);
      services.audit.append({ actorId: a.userId, actor: a.username, action: 'report.verify', objectType: 'report', objectId: req.reportId, outcome: result.ok ? 'success' : 'failure' });
      return result;
    },
    'reports.exportPdf': async (req, ctx) => {
      const out = await reports.exportPdf(req.reportId, sessionOf(ctx.session));
      return { fileName: out.fileName, pdfBase64: out.pdf.toString('base64'), sha256: out.sha256 };
    },
    'reports.patientSummary': (req, ctx) => {
      const s = sessionOf(ctx.session);
      // The printout names whose results these are: the patient's own record only.
      const record = s.role === 'patient' && s.patientId ? services.dicom.index.patient(s.patientId) : null;
      return {
        summaries: reports.patientSummaries(s, req.reportId),
        patient: record ? { displayName: record.displayName, birthDate: record.birthDate, dicomPatientId: record.dicomPatientId } : null,
      };
    },
  };
}
