// The one composition root: builds every service from a config and wires them into the handler
// table. The Electron main process, the headless host, the CLI and the integration tests all
// call createWorkstation(); no service reaches for a global.
import path from 'node:path';
import fs from 'node:fs';
import { createLogger } from '../services/log';
import type { WorkstationConfig } from '../services/config';
import { createSystemService } from '../services/system';
import { createInferenceService } from '../services/inference';
import { createHandlerTable, type Handlers, type SessionResolver } from './handler-table';
import type { Services, Workstation } from './workstation-types';
import { systemHandlers } from './handlers/system';
import { createStore, createStoreSecretVault } from '../services/store';
import { createAuditLog, createCheckpointSchedule } from '../services/audit';
import { createAuthService } from '../services/auth';
import { createSettingsService } from '../services/settings';
import { PERMISSIONS, isChannelName } from '../contract';
import { authHandlers } from './handlers/auth';
import { usersHandlers } from './handlers/users';
import { auditHandlers } from './handlers/audit';
import { settingsHandlers } from './handlers/settings';
import { inferenceHandlers } from './handlers/inference';
import { createSecretStore, createSyncService, dicomServiceImporter } from '../services/sync';
import { syncHandlers } from './handlers/sync';
import { dimseHandlers } from './handlers/dimse';
import { createDimseService, createHospitalBrowser } from '../services/dimse';
import { createDicomService, defaultDemoFolder, SUPPORTED_TRANSFER_SYNTAXES } from '../services/dicom';
import { dicomHandlers } from './handlers/dicom';
import { createAiResultsService, createBackgroundScoring } from '../services/ai-results';
import { createReportsService } from '../services/reports';
import { reportsHandlers } from './handlers/reports';
import { aiHandlers } from './handlers/ai';
import { createResearchService } from '../services/research';
import { researchHandlers } from './handlers/research';
import { patientsHandlers } from './handlers/patients';
import { createMessagesService } from '../services/messages';
import { messagesHandlers } from './handlers/messages';
import { createMeasurementsService } from '../services/measurements';
import { measurementsHandlers } from './handlers/measurements';
import { createTrackingService } from '../services/tracking';
import { trackingHandlers } from './handlers/tracking';
import { createFederatedService, createFederationSecrets } from '../services/federated';
import { federationHandlers } from './handlers/federation';
import { createNotificationsService } from '../services/notifications';
import { createUploadsService } from '../services/uploads';
import { createCareService } from '../services/care';
import { AI_BACKGROUND_EVENT, NOTIFICATIONS_EVENT } from '../contract';
import { createLiveEvents } from './live-events';
import { uploadsHandlers } from './handlers/uploads';
import { notificationsHandlers } from './handlers/notifications';
import { careHandlers } from './handlers/care';

export type { Services, Workstation } from './workstation-types';

export async function createWorkstation(config: WorkstationConfig): Promise<Workstation> {
  fs.mkdirSync(config.dataFolder, { recursive: true, mode: 0o700 });
  const logger = createLogger({
    level: config.logLevel,
    file: path.join(config.dataFolder, 'logs', 'workstation.log'),
    stderr: config.logToStderr,
    bindings: { transport: config.transport },
  });

  // Runtimes are detected once, by the inference service; workers start on first use. The active
  // runtime can change later (the admin's inferenceRuntime setting), so it is always asked for.
  const inference = createInferenceService({ config, logger: logger.child({ service: 'inference' }) });
  const gpu = inference.gpu();

  // The encrypted store never throws here: when it cannot open, system.health says why and
  // the workstation still starts (passphrase mode waits for auth.unlockDatabase).
  const store = await createStore({ dataFolder: config.dataFolder, keySource: config.keySource, passphrase: config.passphrase, logger: logger.child({ service: 'store' }) });
  const dbOf = () => store.db();
  // Secrets other than the database key live beside it (keychain, or encrypted in the database).
  const secrets = createStoreSecretVault(store, logger.child({ service: 'secrets' }));
  // The audit chain is MAC'd under the store's audit key, which is kept apart from the database key.
  const audit = createAuditLog(dbOf, () => store.auditKey());
  const settings = createSettingsService(dbOf);
  const auth = createAuthService({ db: dbOf, audit, settings, logger: logger.child({ service: 'auth' }) });
  const sessions: SessionResolver = { resolve: (token) => auth.resolve(token) };
  // Notifications for every role, pushed live to the recipient's open windows (live-events.ts).
  const live = createLiveEvents();
  const notifications = createNotificationsService({
    db: dbOf,
    publish: (userId, event) => live.toUser(userId, { event: NOTIFICATIONS_EVENT, data: event }),
    onDuty: () => settings.get().onDutyUserIds,
  });

  const system = createSystemService({
    config,
    runtimes: () => inference.runtimes(),
    activeRuntime: () => inference.activeRuntime(),
    runtimeChoice: () => inference.runtimeChoice(),
    gpu: () => gpu,
    keychain: () => {
      const k = store.keychainStatus();
      return { available: k.available, detail: `${k.detail} ${store.status().modeStatement}`.trim() };
    },
    database: () => {
      const st = store.status();
      return { encrypted: st.encrypted, unlocked: st.unlocked, keySource: st.keySource, schemaVersion: st.schemaVersion, problem: st.problem, setupPending: st.needsPassphrase === 'create' };
    },
    adminExists: () => store.isOpen() && auth.adminExists(),
  });

  // DICOM import, index and decoding; its worker threads start on first use.
  // Every committed import batch (files, uploads, sync, DIMSE) feeds the background scoring queue
  // (declared below; the first import runs after it exists).
  const dicom = createDicomService({ db: dbOf, dataFolder: config.dataFolder, logger: logger.child({ service: 'dicom' }), audit, onStudiesImported: (ids) => aiBackground.arrived(ids) });

  // Hospital-server sync: polls and sends only while enabled and the database is open.
  const sync = createSyncService({ db: dbOf, ready: () => store.isOpen(), audit, logger: logger.child({ service: 'sync' }), dataFolder: config.dataFolder, importer: dicomServiceImporter(dicom), secrets: createSecretStore(secrets), readBlob: (hash) => dicom.blobs.get(hash),
    // Optional auto-run of the model on each study that arrives (sync's own setting; off by
    // default), at background priority; with backgroundScoring on the queue scores them anyway.
    onStudyArrived: (study) => (study.studyId ? aiResults.runStudy(study.studyId, { actor: 'system:sync', actorId: null, priority: 'background' }) : undefined),
    onOutboxFailed: (item) =>
      // One unread notice per admin, however many items the server refused (a signing queues the
      // PDF, SR, SEG and the source series); it points at the first, the outbox lists them all.
      notifications.notifyRole('admin', { kind: 'outbox-failed', title: 'Results could not be sent to the hospital server', body: 'The hospital server refused one or more results. Open Administration, Hospital server, to retry or cancel them.', page: 'admin', objectId: String(item.id), oneUnread: true }),
  });

  // Stored AI results: study runs read frames from the DICOM service and score them with the model.
  const aiResults = createAiResultsService({
    db: dbOf,
    images: { study: (studyId) => dicom.index.get(studyId), frame: (instanceId, frame) => dicom.getFrame(instanceId, frame) },
    inference,
    audit,
    logger: logger.child({ service: 'ai-results' }),
    // Clinical runs use the model an admin activated in the research registry (declared below;
    // only called once a run starts).
    clinicalModelId: () => research.registry.activeModelId(),
  });

  // Background scoring of arriving studies (setting backgroundScoring, default on): one study at
  // a time behind the viewer's requests; each change is pushed to the radiologists' windows.
  const aiBackground = createBackgroundScoring({
    db: dbOf,
    ai: aiResults,
    study: (studyId) => dicom.index.get(studyId),
    currentModel: async () => {
      const id = (await research.registry.activeModelId()) ?? inference.status().defaultModel;
      if (!id) return null;
      const m = await inference.loadModel(id);
      return { id: m.spec.id, version: m.spec.version };
    },
    enabled: () => settings.get().backgroundScoring,
    ready: () => store.isOpen(),
    logger: logger.child({ service: 'ai-background' }),
    onChange: (e) => live.toRole('radiologist', { event: AI_BACKGROUND_EVENT, data: e }),
  });

  // Reports: drafts filled from the stored AI results; signing queues the PDF, SR and the AI's SEG in sync's outbox.
  const reports = createReportsService({
    db: dbOf,
    audit,
    identity: auth,
    ai: aiResults,
    images: { study: (studyId) => dicom.index.get(studyId), geometry: (instanceId) => dicom.imageGeometry(instanceId) },
    // The card's figure for a new site and its validated sequences go with the finding into the draft and the PDF.
    modelClaims: (modelId) => inference.modelClaims(modelId),
    // The hospital (a setting): the SR's verifying organization and the PDF's letterhead.
    institution: () => settings.get().institutionName || null,
    // Declared below; only called once a report is opened or signed. The radiologist's
    // measurements go into the draft, the PDF and the SR; tracking into the draft and the PDF.
    measurements: { forStudy: (studyId) => measurements.forStudy(studyId) },
    tracking: { patient: (id) => tracking.patient(id) },
    // The source series go with a signed report where the sync setting says so.
    sourceImages: { shouldSend: (studyInstanceUid) => sync.sendsSourceImages(studyInstanceUid) },
    onSigned: (e) =>
      notifications.notifyPatient(
        e.patientId,
        e.addendum
          ? { kind: 'report-signed', title: 'A note was added to your result', body: 'Your doctor added a note to a signed report. It is in My results, under the report.', page: 'patient', objectId: e.reportId }
          : { kind: 'report-signed', title: 'A new result is ready', body: 'Your signed report is in My results.', page: 'patient', objectId: e.reportId },
      ),
    logger: logger.child({ service: 'reports' }),
  });

  // Research workspace: data sets, the model registry and scoring runs (in the inference pool).
  const research = createResearchService({ db: dbOf, inference, audit, logger: logger.child({ service: 'research' }), modelsFolder: config.modelsFolder, dataFolder: config.dataFolder });

  // Messages between a patient and the care team (bodies only in the encrypted database).
  // Notification texts never name the patient or quote the message: they may be read over a shoulder.
  const messages = createMessagesService({
    db: dbOf,
    audit,
    onSent: (m) => {
      const about = { page: 'messages', objectId: m.patientId };
      if (m.senderRole === 'radiologist') notifications.notifyPatient(m.patientId, { kind: 'message', title: 'New message from your care team', body: 'Open Messages to read it.', ...about });
      else if (m.urgent) {
        const onDuty = notifications.notifyOnDuty({ kind: 'urgent-message', title: 'Urgent message from a patient', body: 'A patient marked a message urgent. Open Messages to read it now.', ...about });
        // The rest of the care team sees it as a new message (at the top of the inbox, in red).
        notifications.notifyRole('radiologist', { kind: 'message', title: 'New message from a patient', body: 'Open Messages to read it.', ...about }, onDuty);
      } else notifications.notifyRole('radiologist', { kind: 'message', title: 'New message from a patient', body: 'Open Messages to read it.', ...about });
    },
    onThreadRead: (e) => notifications.markReadFor(e.userId, ['message', 'urgent-message'], e.patientId),
  });

  // Radiologist measurements per image; figures computed from the points and the decoded pixels.
  const measurements = createMeasurementsService({ db: dbOf, frame: (instanceId, frame) => dicom.getFrame(instanceId, frame), audit });

  // Federated learning: this workstation as a site and/or the coordinator of a federation; its
  // keys and tokens in the keychain (or the encrypted database where no keychain answers).
  const federation = createFederatedService({
    db: dbOf,
    inference,
    research,
    audit,
    logger: logger.child({ service: 'federation' }),
    secrets: createFederationSecrets(secrets),
    dataFolder: config.dataFolder,
    modelsFolder: config.modelsFolder,
  });

  // Longitudinal tumor tracking over a patient's studies, from the stored AI results and measurements.
  const tracking = createTrackingService({ db: dbOf, ai: aiResults, measurements });

  // Patient uploads for review: filed by the DICOM import, scored by the model, drafted by reports.
  const uploads = createUploadsService({
    db: dbOf,
    audit,
    logger: logger.child({ service: 'uploads' }),
    dicom,
    // Uploads are always scored, whatever backgroundScoring says: the reviewing radiologist's
    // queue shows the result (a patient sees it only as patientSeesBeforeReview allows).
    ai: { runStudy: (studyId, o) => aiResults.runStudy(studyId, { ...o, priority: 'background' }), statuses: (ids) => aiResults.statuses(ids) },
    reports,
    settings: () => settings.get(),
    onSubmitted: (u) =>
      notifications.notifyRole('radiologist', {
        kind: 'upload-received',
        title: 'New images to review',
        body: u.byRole === 'patient' ? 'A patient sent images for review. Open Reviews.' : 'Images added for a patient are waiting in Reviews.',
        page: 'reviews',
        objectId: u.uploadId,
      }),
    onReviewed: (u) => {
      notifications.resolve(['upload-received'], u.uploadId);
      notifications.notifyPatient(u.patientId, { kind: 'upload-reviewed', title: 'Your images have been reviewed', body: 'Open Send images to see the outcome.', page: 'uploads', objectId: u.uploadId });
    },
  });

  // DIMSE: the C-STORE SCP (pushes from scanners and PACS into the normal import path) and the
  // PACS as SCU (echo, C-FIND, C-MOVE to the SCP); retrieved studies get the AI run.
  const dimse = createDimseService({
    db: dbOf,
    audit,
    logger: logger.child({ service: 'dimse' }),
    importer: dicomServiceImporter(dicom, 'system:dimse'),
    supportedSyntaxes: Object.keys(SUPPORTED_TRANSFER_SYNTAXES),
    // A retrieve someone waits for runs interactive; a push (no person) at background priority.
    runAi: (studyId, who) => aiResults.runStudy(studyId, { actor: who.name, actorId: who.id, priority: who.id === null ? 'background' : 'interactive' }),
  });
  // The Hospital server page: the PACS over DIMSE when one is configured, else the DICOMweb server.
  const hospital = createHospitalBrowser({
    db: dbOf,
    audit,
    logger: logger.child({ service: 'hospital-browser' }),
    dimse,
    sync,
    // The radiologist waits for it on the page: interactive priority.
    runAi: (studyId, who) => aiResults.runStudy(studyId, { actor: who.name, actorId: who.id, priority: 'interactive' }),
  });

  // Health tips, the care team and the emergency numbers for patients.
  const care = createCareService({ db: dbOf, audit, settings: () => settings.get() });

  const services: Services = { config, logger, system, store, secrets, audit, auth, settings, inference, sync, dimse, hospital, dicom, aiResults, aiBackground, reports, research, messages, measurements, tracking, federation, uploads, notifications, care };
  const handlers: Handlers = {
    ...systemHandlers(services),
    ...authHandlers(services),
    ...usersHandlers(services),
    ...auditHandlers(services),
    ...settingsHandlers(services),
    ...inferenceHandlers(services),
    ...syncHandlers(services),
    ...dimseHandlers(services),
    ...dicomHandlers(services),
    ...aiHandlers(services),
    ...reportsHandlers(services),
    ...researchHandlers(services),
    ...patientsHandlers(services),
    ...messagesHandlers(services),
    ...measurementsHandlers(services),
    ...trackingHandlers(services),
    ...federationHandlers(services),
    ...uploadsHandlers(services),
    ...notificationsHandlers(services),
    ...careHandlers(services),
  };
  const table = createHandlerTable({
    handlers,
    sessions,
    logger,
    onCall: (connection, session) => live.seen(connection, session),
    // Refusals by the table itself (no session, or a role the matrix does not allow) are audit
    // rows; services audit their own failures (wrong password, bad reset code).
    onRefused: ({ channel, code, session }) => {
      if (!store.isOpen() || !isChannelName(channel)) return;
      const byTable = code === 'FORBIDDEN' || (code === 'UNAUTHENTICATED' && !session && PERMISSIONS[channel] !== 'public');
      if (!byTable) return;
      audit.append({ actorId: session?.userId ?? null, actor: session?.username ?? 'anonymous', action: channel, outcome: 'refused', detail: { code } });
    },
  });
  // The app and the host poll the hospital server; a one-shot CLI command does not.
  if (config.transport !== 'cli') sync.start();
  // The daily signed audit checkpoint, into the folder an admin chose (setting auditCheckpointFolder).
  const checkpoints = createCheckpointSchedule({ audit, ready: () => store.isOpen(), folder: () => settings.get().auditCheckpointFolder, logger: logger.child({ service: 'audit' }) });
  if (config.transport !== 'cli') {
    checkpoints.start();
    store.onOpened(() => checkpoints.runDue());
  }
  // Work that needs the database: now when it is open, else once it opens (passphrase mode: after
  // first-run setup or unlock).
  const whenOpen = (fn: () => void): void => {
    if (store.isOpen()) fn();
    else store.onOpened(fn);
  };
  // The app and the host listen for DIMSE pushes when enabled (once the database is open); a CLI command does not.
  const startDimse = (): void => void dimse.start().catch((err: unknown) => logger.warn('dimse.start-failed', { err }));
  if (config.transport !== 'cli') whenOpen(startDimse);
  // The DICOM workers start and warm their code (warm-up.ts) once the database is open (their
  // blob key is in it), while the workstation is idle: the first import does not pay for starting
  // them, and pays less for compiling (part of the compiled code is dropped after an idle minute).
  const warmDicom = (): void => void dicom.warmUp().catch((err: unknown) => logger.warn('dicom.warm-up-failed', { err }));
  if (config.transport !== 'cli') whenOpen(warmDicom);
  // First run: the bundled demo study, so the worklist shows something real (derived images,
  // made-up patient) until real studies arrive. The setting importDemoStudy (default on) allows it.
  const importDemo = (): void => {
    const allowed = settings.get().importDemoStudy;
    void dicom.importDemoStudyIfEmpty({ allowed, folder: defaultDemoFolder(), actor: 'system:demo' }).catch((err: unknown) => logger.warn('dicom.demo-failed', { err }));
  };
  if (config.transport !== 'cli') whenOpen(importDemo);
  // The admin's stored inference runtime, for every transport (doctor and score report and use
  // it too). A runtime it names that no longer loads here is kept as the setting, with the
  // fastest available one used meanwhile; a --runtime flag or env var wins over it (the service).
  const applyRuntimeSetting = (): void => {
    try {
      inference.setPreferredRuntime(settings.get().inferenceRuntime, { fallBack: true });
    } catch (err) {
      logger.warn('inference.runtime.setting-failed', { err });
    }
  };
  whenOpen(applyRuntimeSetting);
  // The background queue starts with the studies left unscored (a restart, a new model); not for
  // a one-shot CLI command.
  const startBackground = (): void => void aiBackground.start().catch((err: unknown) => logger.warn('ai.background.start-failed', { err }));
  if (config.transport !== 'cli') whenOpen(startBackground);
  logger.info('workstation.started', { runtime: inference.activeRuntime(), gpu: gpu.found });

  return {
    config,
    logger,
    services,
    table,
    async close() {
      checkpoints.stop();
      hospital.cancelAll();
      await sync.stop();
      await dimse.stop();
      await aiBackground.close();
      await aiResults.close();
      federation.close();
      await uploads.idle();
      await research.close();
      await inference.close();
      await dicom.close();
      store.close();
      logger.info('workstation.closed');
    },
  };
}
