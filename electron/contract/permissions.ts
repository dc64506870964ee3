// The permission matrix: for every channel, who may call it. This table is the only place that
// decides access; the handler table enforces it on every call and the renderer reads it to
// show only the navigation a role may use. 'public' means no session is needed.
import type { ChannelName } from './channels';
import { ROLES, type Role } from './roles';

export type Access = 'public' | readonly Role[];

const STAFF = ['admin', 'radiologist', 'researcher'] as const;

export const PERMISSIONS: { readonly [C in ChannelName]: Access } = {
  'system.health': 'public',
  'system.info': STAFF,
  // DICOM import, worklist and viewer (DICOM issue). Researchers see de-identified data only:
  // research access to studies comes with a later issue.
  'import.paths': ['admin', 'radiologist'],
  'import.cancel': ['admin', 'radiologist'],
  'import.uploadBegin': ['admin', 'radiologist'],
  'import.uploadChunk': ['admin', 'radiologist'],
  'import.uploadFinish': ['admin', 'radiologist'],
  'studies.list': ['radiologist'],
  'studies.get': ['radiologist'],
  'images.frame': ['radiologist'],
  'studies.priors': ['radiologist'],
  'images.tags': ['radiologist'],
  // Accounts, audit and settings (store issue).
  'auth.setupStatus': 'public',
  'auth.unlockDatabase': 'public',
  'auth.createFirstAdmin': 'public',
  'auth.login': 'public',
  'auth.logout': 'public',
  'auth.redeemResetCode': 'public',
  'auth.me': ROLES,
  'auth.changePassword': ROLES,
  'auth.totpBegin': ROLES,
  'auth.totpConfirm': ROLES,
  'auth.totpDisable': ROLES,
  'users.list': ['admin'],
  'users.create': ['admin'],
  'users.update': ['admin'],
  'users.lock': ['admin'],
  'users.unlock': ['admin'],
  'users.issueResetCode': ['admin'],
  'users.forceLogout': ['admin'],
  'audit.list': ['admin'],
  'audit.verify': ['admin'],
  'audit.exportCsv': ['admin'],
  'settings.get': ['admin'],
  'settings.update': ['admin'],
  // Models and inference (model issue).
  'models.list': STAFF,
  'inference.status': STAFF,
  // Hospital server sync (sync issue).
  'sync.getSettings': ['admin'],
  'sync.setSettings': ['admin'],
  'sync.testConnection': ['admin'],
  'sync.status': ['admin', 'radiologist'],
  'sync.now': ['admin', 'radiologist'],
  'outbox.list': ['admin', 'radiologist'],
  'outbox.retry': ['admin'],
  'outbox.cancel': ['admin'],
  // DIMSE (interoperability issue): the SCP and the PACS are an admin's settings; searching and
  // retrieving studies shows and brings patient data, a radiologist's work.
  'dimse.getSettings': ['admin'],
  'dimse.setSettings': ['admin'],
  'dimse.echo': ['admin'],
  'pacs.source': ['radiologist'],
  'pacs.find': ['radiologist'],
  'pacs.retrieve': ['radiologist'],
  'pacs.cancel': ['radiologist'],
  // Stored AI results and study runs (viewer issue): the radiologist reads studies.
  'ai.studyResult': ['radiologist'],
  'ai.studyStatuses': ['radiologist'],
  'ai.runStudy': ['radiologist'],
  'ai.cancel': ['radiologist'],
  'ai.mask': ['radiologist'],
  // Measurements (viewer issue): radiologists read every author's; only the author changes one.
  'measurements.list': ['radiologist'],
  'measurements.save': ['radiologist'],
  'measurements.delete': ['radiologist'],
  'tracking.patient': ['radiologist'],
  // Reports (report issue): radiologists write and sign; an admin may verify a signed report's
  // hash; a patient gets only the plain-language summary of their own signed reports.
  'reports.dashboard': ['radiologist'],
  'reports.statusForStudies': ['radiologist'],
  'reports.open': ['radiologist'],
  'reports.get': ['radiologist'],
  'reports.saveDraft': ['radiologist'],
  'reports.saveNotes': ['radiologist'],
  'reports.acceptAi': ['radiologist'],
  'reports.rejectAi': ['radiologist'],
  'reports.markPreliminary': ['radiologist'],
  'reports.sign': ['radiologist'],
  'reports.addAddendum': ['radiologist'],
  'reports.addKeyImage': ['radiologist'],
  'reports.removeKeyImage': ['radiologist'],
  // A patient reads the key images of their own signed reports (the handler checks ownership).
  'reports.keyImage': ['radiologist', 'patient'],
  'reports.history': ['radiologist'],
  'reports.verify': ['admin', 'radiologist'],
  'reports.exportPdf': ['radiologist'],
  'reports.patientSummary': ['radiologist', 'patient'],
  // Linking a patient account to its record (patient issue): only the admin who manages accounts.
  // A radiologist finds the record to add a patient's images to (consultation-room upload);
  // which accounts are linked to it is shown to admins only.
  'patients.search': ['admin', 'radiologist'],
  // Messages (messages issue): a department inbox. A patient writes in their own conversation
  // only (the handler takes it from the session's link); any radiologist reads and answers.
  'messages.inbox': ['radiologist'],
  'messages.thread': ['radiologist', 'patient'],
  'messages.send': ['radiologist', 'patient'],
  'messages.unreadCount': ['radiologist', 'patient'],
  // Research workspace (research issue). Researchers install models for research use; only an
  // admin makes one the clinical model or retires it. Researchers see de-identified data only.
  'datasets.browse': ['researcher'],
  'datasets.preview': ['researcher'],
  'datasets.register': ['researcher'],
  // The coordinating admin picks the federation's reference set from them (names and counts only).
  'datasets.list': ['admin', 'researcher'],
  'datasets.get': ['researcher'],
  // De-identified copies only; an admin may also make them (e.g. for a data request).
  'datasets.exportDeidentified': ['admin', 'researcher'],
  'datasets.cancelExport': ['admin', 'researcher'],
  'models.registry': ['admin', 'researcher'],
  'models.install': ['admin', 'researcher'],
  'models.activate': ['admin'],
  'models.retire': ['admin'],
  'runs.start': ['researcher'],
  'runs.list': ['researcher'],
  'runs.get': ['researcher'],
  'runs.cancel': ['researcher'],
  'runs.resume': ['researcher'],
  'runs.items': ['researcher'],
  'runs.item': ['researcher'],
  'runs.exportItems': ['researcher'],
  'compare.many': ['researcher'],
  'compare.exportManyCsv': ['researcher'],
  'compare.runs': ['researcher'],
  'compare.exportCsv': ['researcher'],
  'compare.exportHtml': ['researcher'],
  // Federated learning (federation issue). Researchers train on their site's data sets and send
  // the updates; the site's identity and enrolment, and everything the coordinator decides
  // (sites, rounds, aggregation, approval, rollback), are the admin's.
  'federation.overview': ['admin', 'researcher'],
  'federation.globalModel': ['admin', 'researcher'],
  'federation.createIdentity': ['admin'],
  'federation.enrol': ['admin'],
  'federation.train': ['admin', 'researcher'],
  'federation.cancelTraining': ['admin', 'researcher'],
  'federation.exportPackage': ['admin', 'researcher'],
  'federation.uploadPackage': ['admin', 'researcher'],
  'federation.pullGlobal': ['admin'],
  'federation.evaluateCandidate': ['admin', 'researcher'],
  'federation.setup': ['admin'],
  'federation.registerSite': ['admin'],
  'federation.revokeSite': ['admin'],
  'federation.openRound': ['admin'],
  'federation.importPackage': ['admin'],
  'federation.aggregate': ['admin'],
  'federation.approve': ['admin'],
  'federation.reject': ['admin'],
  'federation.rollback': ['admin'],
  // Patient uploads and their review (patient loop issue). A patient files images under their own
  // record only (the handler takes it from the session's link, and only where an admin allows
  // uploads from a patient account); a radiologist may add them for a patient in the consultation
  // room. Files in transit belong to the connection that sent them.
  'uploads.begin': ['radiologist', 'patient'],
  'uploads.chunk': ['radiologist', 'patient'],
  'uploads.submit': ['radiologist', 'patient'],
  'uploads.mine': ['patient'],
  'reviews.list': ['radiologist'],
  'reviews.get': ['radiologist'],
  'reviews.approve': ['radiologist'],
  'reviews.reject': ['radiologist'],
  'reviews.saveNotes': ['radiologist'],
  // Notifications: everyone has their own, and only their own (the session decides whose).
  'notifications.list': ROLES,
  'notifications.counts': ROLES,
  'notifications.markRead': ROLES,
  // Health tips and the care-team pages: admins edit; patients (and the care team) read.
  'tips.list': ['admin', 'radiologist', 'patient'],
  'tips.save': ['admin'],
  'tips.delete': ['admin'],
  'care.info': ['admin', 'radiologist', 'patient'],
};

export function mayCall(role: Role | null, channelName: ChannelName): boolean {
  const access = PERMISSIONS[channelName];
  if (access === 'public') return true;
  return role !== null && access.includes(role);
}

/** Pages of the app frame and the channel whose permission opens each. */
export const PAGES = [
  { id: 'worklist', label: 'Worklist', roles: ['radiologist'] },
  { id: 'viewer', label: 'Viewer', roles: ['radiologist'] },
  { id: 'reports', label: 'Reports', roles: ['radiologist'] },
  { id: 'reviews', label: 'Reviews', roles: ['radiologist'] },
  { id: 'pacs', label: 'Hospital server', roles: ['radiologist'] },
  { id: 'research', label: 'Research', roles: ['researcher'] },
  // After Administration: an admin's first page (and Alt+1) stays Administration.
  { id: 'admin', label: 'Administration', roles: ['admin'] },
  { id: 'federation', label: 'Federation', roles: ['admin', 'researcher'] },
  // My results comes before Messages: a patient's first page (and Alt+1) is their results.
  { id: 'patient', label: 'My results', roles: ['patient'] },
  { id: 'uploads', label: 'Send images', roles: ['patient'] },
  { id: 'messages', label: 'Messages', roles: ['radiologist', 'patient'] },
  { id: 'tips', label: 'Health tips', roles: ['patient'] },
  { id: 'care', label: 'My care team', roles: ['patient'] },
  { id: 'emergency', label: 'Emergency', roles: ['patient'] },
  { id: 'account', label: 'My account', roles: ['admin', 'radiologist', 'researcher', 'patient'] },
  { id: 'about', label: 'About', roles: ['admin', 'radiologist', 'researcher', 'patient'] },
] as const satisfies readonly { id: string; label: string; roles: readonly Role[] }[];
export type PageId = (typeof PAGES)[number]['id'];

export function pagesFor(role: Role): readonly (typeof PAGES)[number][] {
  return PAGES.filter((p) => (p.roles as readonly Role[]).includes(role));
}
