// The sync service: server settings (the secret in the secret vault, bound to the server's origin
// and auth type), connection test, one sync run (pull then push), the polling scheduler started by
// the composition root, and audit rows.
import {
  WorkstationError,
  syncSettingsSchema,
  type ConnectionTest,
  type OutboxItem,
  type OutboxState,
  type SyncRunSummary,
  type SyncSettings,
  type SyncSettingsView,
  type SyncStatus,
  type PacsQuery,
} from '../../contract';
import type { Db } from '../store';
import type { AuditLog } from '../audit';
import type { Logger } from '../log';
import { createDicomWebClient, insecureHttpMessage, type DicomWebClient } from './dicomweb-client';
import { createOutbox, DEFAULT_BACKOFF, type BackoffPolicy, type BlobReader, type Outbox, type OutboxEntry } from './outbox';
import { emptyPullResult, pullStudies, type ArrivedStudy, type PullProgress, type PullResult, type SyncImporter } from './pull';
import { searchStudies, type FoundStudy } from './search';
import { originOf, secretFor, type SecretStore } from './secrets';

export interface SyncActor {
  id: string | null;
  name: string;
}
export const SYSTEM_ACTOR: SyncActor = { id: null, name: 'system:sync' };

export interface SyncServiceOptions {
  db: () => Db;
  /** Whether the database is open (passphrase mode starts locked); the scheduler waits for it. */
  ready: () => boolean;
  audit: AuditLog;
  logger: Logger;
  dataFolder: string;
  /** The DICOM import path; null while no import service is installed (pull then says so). */
  importer: SyncImporter | null;
  /** The hospital server's secret (createSecretStore over the data folder's vault). */
  secrets: SecretStore;
  /** Reads a stored image for an outbox row that points at one (source images); absent: none can be sent. */
  readBlob?: BlobReader;
  /** Called with each study that received new instances, when auto-run is on. */
  onStudyArrived?: (study: ArrivedStudy) => Promise<unknown> | void;
  /** Called when an outbox item has failed for good (no more retries); notifications hook, must not throw. */
  onOutboxFailed?: (item: { id: number }) => void;
  backoff?: BackoffPolicy;
  /** How often due outbox items are looked for between polls (ms). */
  pushCheckMs?: number;
  requestTimeoutMs?: number;
  pushConcurrency?: number;
}

export interface SyncService {
  getSettings(): Promise<SyncSettingsView>;
  setSettings(patch: Partial<SyncSettings> & { secret?: string | null }, actor: SyncActor): Promise<SyncSettingsView>;
  testConnection(override?: Partial<SyncSettings>, secret?: string): Promise<ConnectionTest>;
  status(): SyncStatus;
  /** One run: pull, then push what is due. Concurrent callers share the run in progress. */
  syncNow(actor: SyncActor): Promise<SyncRunSummary>;
  /** Whether a signed report of this study sends its source series too (the setting, by where the study came from). */
  sendsSourceImages(studyInstanceUid: string): boolean;
  /** Sends the due outbox items only. */
  pushNow(actor?: SyncActor): Promise<{ pushed: number; failed: number }>;
  readonly outbox: Outbox;
  enqueue(entry: OutboxEntry): OutboxItem;
  listOutbox(filter: { states?: OutboxState[]; limit: number }): { items: OutboxItem[]; total: number };
  retry(id: number, actor: SyncActor): Promise<OutboxItem>;
  cancel(id: number, actor: SyncActor): OutboxItem;
  /** The hospital server in words (its DICOMweb address), or null when none is configured. */
  serverDescription(): string | null;
  /** QIDO-RS study search for the Hospital server page. */
  searchStudies(q: PacsQuery): Promise<{ studies: FoundStudy[]; truncated: boolean }>;
  /**
   * The sync pull limited to one study, now (the Hospital server page's retrieve): WADO-RS into the
   * import path, recorded like a pull. An abort of `signal` closes the transfer; what arrived stays.
   */
  pullStudy(studyInstanceUid: string, opts: { signal?: AbortSignal; onProgress?: (p: PullProgress) => void }): Promise<PullResult>;
  /** Starts polling and the outbox sender (only acts while enabled and the database is open). */
  start(): void;
  /** Stops timers and waits for a run in progress. */
  stop(): Promise<void>;
}

export function createSyncService(o: SyncServiceOptions): SyncService {
  const { db, audit, logger } = o;
  const secrets = o.secrets;
  const outbox = createOutbox(db, o.backoff ?? DEFAULT_BACKOFF, o.readBlob ?? null);
  let running: Promise<SyncRunSummary> | null = null;
  let pushing: Promise<{ pushed: number; failed: number }> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let started = false;
  let nextRunAt: number | null = null;

  const readSettings = (): SyncSettings => {
    const row = db().prepare('SELECT settings FROM sync_config WHERE one = 1').get() as { settings: string } | undefined;
    const parsed = syncSettingsSchema.safeParse(row ? (JSON.parse(row.settings) as unknown) : {});
    return parsed.success ? parsed.data : syncSettingsSchema.parse({});
  };
  const view = async (s: SyncSettings): Promise<SyncSettingsView> => {
    let hasSecret = false;
    if (s.authType !== 'none') hasSecret = secretFor(await secrets.get().catch(() => null), s.baseUrl, s.authType) !== null;
    return { ...s, hasSecret, secretStore: secrets.holder(), secretStoreStatement: secrets.statement() };
  };

  const authFail = (message: string): WorkstationError => new WorkstationError('UNAVAILABLE', message, { details: { step: 'auth', httpStatus: null, transient: false } });

  /**
   * A client for these settings. The stored secret goes only to the origin and auth type it was
   * entered for; a secret typed for this call (a connection test) is used as given. Credentials
   * never go over plain http unless the stored insecure switch is on.
   */
  const clientFor = async (s: SyncSettings, secretOverride?: string): Promise<DicomWebClient> => {
    if (!s.baseUrl) throw new WorkstationError('INVALID_INPUT', 'No hospital server is configured. An administrator sets its address under Administration > Hospital server.', { details: { step: 'url', httpStatus: null, transient: false } });
    let secret: string | null = null;
    if (s.authType !== 'none') {
      const origin = originOf(s.baseUrl) ?? s.baseUrl;
      if (secretOverride !== undefined) secret = secretOverride;
      else {
        const stored = await secrets.get();
        secret = secretFor(stored, s.baseUrl, s.authType);
        if (secret === null) {
          const what = s.authType === 'basic' ? 'password' : 'token';
          throw authFail(
            stored
              ? `The stored ${stored.authType === 'basic' ? 'password' : 'token'} was entered for ${stored.origin} (${stored.authType}); it is not sent to ${origin} (${s.authType}). Enter the ${what} for this server.`
              : `The hospital server at ${origin} needs a ${what}, and none is stored for it. Enter the ${what} in the server settings.`,
          );
        }
      }
      if (s.baseUrl.toLowerCase().startsWith('http:') && !s.allowInsecureHttp) throw authFail(insecureHttpMessage(origin));
    }
    return createDicomWebClient({
      baseUrl: s.baseUrl,
      authType: s.authType,
      username: s.username,
      secret,
      tlsVerify: s.tlsVerify,
      caCertificatePem: s.caCertificatePem,
      allowCredentialsOverHttp: s.allowInsecureHttp,
      ...(o.requestTimeoutMs ? { timeoutMs: o.requestTimeoutMs } : {}),
    });
  };

  const state = (): { last_success_at: string | null; last_attempt_at: string | null; last_error: string | null; last_run: string | null } =>
    db().prepare('SELECT last_success_at, last_attempt_at, last_error, last_run FROM sync_state WHERE one = 1').get() as never;

  const auditPush = (actor: SyncActor, outcome: { id: number; sopInstanceUid: string; result: string; error: string | null }): void => {
    audit.append({
      actorId: actor.id,
      actor: actor.name,
      action: 'sync.push',
      objectType: 'outbox-item',
      objectId: String(outcome.id),
      outcome: outcome.result === 'sent' || outcome.result === 'already-there' ? 'success' : 'failure',
      detail: { result: outcome.result, sopInstanceUid: outcome.sopInstanceUid },
    });
  };

  const doPush = async (client: DicomWebClient, actor: SyncActor): Promise<{ pushed: number; failed: number }> => {
    const outcomes = await outbox.pushDue(client, {
      concurrency: o.pushConcurrency ?? 4,
      onOutcome: (x) => {
        logger.info('sync.push', { item: x.id, result: x.result });
        auditPush(actor, x);
        if (x.result === 'failed') {
          try {
            o.onOutboxFailed?.({ id: x.id });
          } catch (err) {
            logger.warn('sync.on-failed-hook', { err });
          }
        }
      },
    });
    return { pushed: outcomes.filter((x) => x.result === 'sent' || x.result === 'already-there').length, failed: outcomes.filter((x) => x.result === 'retry' || x.result === 'failed').length };
  };

  const pushNow = (actor: SyncActor = SYSTEM_ACTOR): Promise<{ pushed: number; failed: number }> => {
    if (pushing) return pushing;
    pushing = (async () => {
      try {
        const s = readSettings();
        const client = await clientFor(s);
        return await doPush(client, actor);
      } finally {
        pushing = null;
      }
    })();
    return pushing;
  };

  const runOnce = async (actor: SyncActor): Promise<SyncRunSummary> => {
    const startedAt = new Date().toISOString();
    const summary: SyncRunSummary = { startedAt, finishedAt: startedAt, ok: false, studiesFound: 0, studiesPulled: 0, instancesImported: 0, instancesSkipped: 0, instancesRefused: 0, pushed: 0, pushFailed: 0, error: null };
    db().prepare('UPDATE sync_state SET last_attempt_at = ? WHERE one = 1').run(startedAt);
    const errors: string[] = [];
    const note = (what: string, err: unknown): void => {
      errors.push(err instanceof WorkstationError ? err.message : `The ${what} failed because of an internal error.`);
      logger.warn(`sync.${what}-failed`, { err: err instanceof WorkstationError ? { code: err.code, details: err.details, cause: err.cause } : err });
    };
    let client: DicomWebClient | null = null;
    try {
      client = await clientFor(readSettings());
    } catch (err) {
      note('run', err);
    }
    // Pull and push are independent: a pull that fails (server error, cut transfer) does not
    // keep finished results from being sent, and the other way round.
    if (client) {
      const pulled = emptyPullResult();
      try {
        const s = readSettings();
        if (!o.importer) {
          throw new WorkstationError('UNAVAILABLE', 'Studies cannot be pulled from the hospital server: the DICOM import service is not installed in this build.');
        }
        try {
          await pullStudies({ db, client, importer: o.importer, filters: s.filters, logger, result: pulled });
        } finally {
          Object.assign(summary, { studiesFound: pulled.studiesFound, studiesPulled: pulled.studiesPulled, instancesImported: pulled.instancesImported, instancesSkipped: pulled.instancesSkipped, instancesRefused: pulled.instancesRefused });
          // Studies that arrived (complete or in part): the model runs on them in the background,
          // so a long analysis never holds up the sync.
          if (s.autoRunModel && o.onStudyArrived) {
            for (const arrived of pulled.arrivedStudies) {
              const hook = o.onStudyArrived;
              void Promise.resolve()
                .then(() => hook(arrived))
                .catch((err: unknown) => logger.warn('sync.auto-run-failed', { err: err instanceof WorkstationError ? err.message : err }));
            }
          }
        }
      } catch (err) {
        note('pull', err);
      }
      try {
        // Wait for a push already in flight (a timer tick) so this run's push sees its results.
        if (pushing) await pushing.catch(() => undefined);
        const pushed = await pushNow(actor);
        summary.pushed = pushed.pushed;
        summary.pushFailed = pushed.failed;
        const waitingError = db().prepare(`SELECT last_error FROM sync_outbox WHERE state IN ('queued', 'failed') AND last_error IS NOT NULL ORDER BY updated_at DESC LIMIT 1`).get() as { last_error: string } | undefined;
        if (pushed.failed && waitingError) errors.push(waitingError.last_error);
      } catch (err) {
        note('push', err);
      }
    }
    summary.ok = errors.length === 0;
    summary.error = errors.length ? [...new Set(errors)].join(' ') : null;
    summary.finishedAt = new Date().toISOString();
    const conn = db();
    if (summary.ok) conn.prepare('UPDATE sync_state SET last_success_at = ?, last_error = NULL, last_run = ? WHERE one = 1').run(summary.finishedAt, JSON.stringify(summary));
    else conn.prepare('UPDATE sync_state SET last_error = ?, last_run = ? WHERE one = 1').run(summary.error, JSON.stringify(summary));
    audit.append({
      actorId: actor.id,
      actor: actor.name,
      action: 'sync.run',
      objectType: 'sync',
      outcome: summary.ok ? 'success' : 'failure',
      detail: { studiesFound: summary.studiesFound, studiesPulled: summary.studiesPulled, imported: summary.instancesImported, refused: summary.instancesRefused, pushed: summary.pushed, pushFailed: summary.pushFailed },
    });
    logger.info('sync.run', { ok: summary.ok, studies: summary.studiesPulled, imported: summary.instancesImported, pushed: summary.pushed });
    return summary;
  };

  const syncNow = (actor: SyncActor): Promise<SyncRunSummary> => {
    if (running) return running;
    running = runOnce(actor).finally(() => {
      running = null;
    });
    return running;
  };

  // One timer: at each tick, a poll when its interval has passed, else a push when items are due.
  const TICK_MS = o.pushCheckMs ?? 5_000;
  let lastPollAt = 0;
  let dueReset = false;
  const tick = async (): Promise<void> => {
    timer = null;
    try {
      if (o.ready()) {
        // A start is a fresh chance: waiting items are due at once instead of after their
        // backoff (done on the first tick with the database open: passphrase mode opens later).
        if (!dueReset) {
          dueReset = true;
          db().prepare(`UPDATE sync_outbox SET next_attempt_at = NULL WHERE state IN ('queued', 'sending')`).run();
        }
        const s = readSettings();
        if (s.enabled && s.baseUrl) {
          const now = Date.now();
          nextRunAt = lastPollAt + s.pollIntervalSeconds * 1000;
          if (now >= nextRunAt) {
            lastPollAt = now;
            nextRunAt = now + s.pollIntervalSeconds * 1000;
            await syncNow(SYSTEM_ACTOR);
          } else {
            const due = outbox.nextDueAt();
            if (due && Date.parse(due) <= now && !running) await pushNow(SYSTEM_ACTOR).catch((err: unknown) => logger.warn('sync.push-failed', { err: err instanceof WorkstationError ? err.message : err }));
          }
        } else nextRunAt = null;
      }
    } catch (err) {
      logger.warn('sync.tick-failed', { err });
    }
    if (started) timer = setTimeout(() => void tick(), TICK_MS);
  };

  return {
    async getSettings() {
      return view(readSettings());
    },
    async setSettings(patch, actor) {
      const { secret, ...rest } = patch;
      const current = readSettings();
      const parsed = syncSettingsSchema.safeParse({ ...current, ...rest });
      if (!parsed.success) throw new WorkstationError('INVALID_INPUT', `These server settings are not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      const next = parsed.data;
      const origin = originOf(next.baseUrl);
      if (typeof secret === 'string' && (next.authType === 'none' || !origin)) {
        throw new WorkstationError('INVALID_INPUT', 'A password or token is kept only with a server address and basic or bearer authentication.', { details: { fields: ['secret'] } });
      }
      const stored = await secrets.get().catch(() => null);
      const bound = typeof secret === 'string' || (secret === undefined && secretFor(stored, next.baseUrl, next.authType) !== null);
      if (next.authType !== 'none' && bound && next.baseUrl.toLowerCase().startsWith('http:') && !next.allowInsecureHttp) {
        throw new WorkstationError('INVALID_INPUT', insecureHttpMessage(origin ?? next.baseUrl), { details: { fields: ['baseUrl', 'allowInsecureHttp'] } });
      }
      // The secret first: if the vault fails, nothing changed in the settings either. A secret
      // whose server (origin) or auth type changed is dropped: it is entered again for the new one.
      let secretChange: string = 'unchanged';
      if (secret === null) {
        await secrets.remove();
        secretChange = 'removed';
      } else if (typeof secret === 'string') {
        await secrets.set({ origin: origin!, authType: next.authType as 'basic' | 'bearer', secret });
        secretChange = 'changed';
      } else if (stored && secretFor(stored, next.baseUrl, next.authType) === null) {
        await secrets.remove();
        secretChange = 'removed: the server address or auth type changed';
      }
      const changed = (Object.keys(rest) as (keyof SyncSettings)[]).filter((k) => JSON.stringify(current[k]) !== JSON.stringify(next[k]));
      db().prepare('INSERT INTO sync_config (one, settings, updated_at, updated_by) VALUES (1, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at, updated_by = excluded.updated_by')
        .run(JSON.stringify(next), new Date().toISOString(), actor.name);
      audit.append({ actorId: actor.id, actor: actor.name, action: 'sync.setSettings', objectType: 'sync', outcome: 'success', detail: { keys: changed.join(','), secret: secretChange } });
      if (changed.includes('allowInsecureHttp')) {
        // Its own row, so the audit log answers "who allowed passwords over plain http, and when".
        audit.append({ actorId: actor.id, actor: actor.name, action: 'sync.allowInsecureHttp', objectType: 'sync', outcome: 'success', detail: { allowInsecureHttp: next.allowInsecureHttp, origin } });
        if (next.allowInsecureHttp) logger.warn('sync.insecure-http-allowed', { by: actor.name, origin });
      }
      if (changed.includes('baseUrl') || changed.includes('filters')) lastPollAt = 0;
      return view(next);
    },
    async testConnection(override, secret) {
      // The insecure switch is the stored, audited one: a test cannot turn it on for itself.
      const { allowInsecureHttp: _ignored, ...rest } = override ?? {};
      const s = syncSettingsSchema.parse({ ...readSettings(), ...rest });
      try {
        const client = await clientFor(s, secret);
        return await client.test();
      } catch (err) {
        if (err instanceof WorkstationError) {
          const step = (err.details?.step as ConnectionTest['step'] | undefined) ?? 'url';
          return { ok: false, step, message: err.message, httpStatus: null, elapsedMs: 0 };
        }
        throw err;
      }
    },
    status() {
      const s = readSettings();
      const st = state();
      let lastRun: SyncRunSummary | null = null;
      try {
        lastRun = st.last_run ? (JSON.parse(st.last_run) as SyncRunSummary) : null;
      } catch {
        lastRun = null;
      }
      return {
        configured: !!s.baseUrl,
        enabled: s.enabled,
        running: running !== null,
        lastSuccessAt: st.last_success_at,
        lastAttemptAt: st.last_attempt_at,
        lastError: st.last_error,
        nextRunAt: started && s.enabled && nextRunAt ? new Date(nextRunAt).toISOString() : null,
        outbox: outbox.counts(),
        lastRun,
      };
    },
    syncNow,
    pushNow,
    serverDescription() {
      return readSettings().baseUrl || null;
    },
    async searchStudies(q) {
      return searchStudies(await clientFor(readSettings()), q);
    },
    async pullStudy(studyInstanceUid, opts) {
      const s = readSettings();
      const client = await clientFor(s);
      if (!o.importer) throw new WorkstationError('UNAVAILABLE', 'Studies cannot be pulled from the hospital server: the DICOM import service is not installed in this build.');
      const result = emptyPullResult();
      try {
        await pullStudies({ db, client, importer: o.importer, filters: s.filters, logger, result, studyInstanceUid, signal: opts.signal, onProgress: opts.onProgress, batchSize: 8 });
      } catch (err) {
        // A cancel is not a failure: what arrived was imported and recorded (pullStudies' finally).
        if (!opts.signal?.aborted) throw err;
      }
      return result;
    },
    sendsSourceImages(studyInstanceUid) {
      const s = readSettings();
      // Pulled: any instance of the study came from the server (the pull's own record).
      const pulled = !!db().prepare('SELECT 1 FROM sync_pulled_instances WHERE study_instance_uid = ? LIMIT 1').get(studyInstanceUid);
      return pulled ? s.sendSourceImages.pulledStudies : s.sendSourceImages.localStudies;
    },
    outbox,
    enqueue(entry) {
      const item = outbox.enqueue(entry);
      // Send soon; the timer would find it too, this only saves the wait.
      if (started && o.ready() && readSettings().enabled) setImmediate(() => void pushNow().catch(() => undefined));
      return item;
    },
    listOutbox: (filter) => outbox.list(filter),
    async retry(id, actor) {
      const item = outbox.retry(id);
      audit.append({ actorId: actor.id, actor: actor.name, action: 'outbox.retry', objectType: 'outbox-item', objectId: String(id), outcome: 'success', detail: null });
      if (started && readSettings().enabled) setImmediate(() => void pushNow(actor).catch(() => undefined));
      return item;
    },
    cancel(id, actor) {
      const item = outbox.cancel(id);
      audit.append({ actorId: actor.id, actor: actor.name, action: 'outbox.cancel', objectType: 'outbox-item', objectId: String(id), outcome: 'success', detail: null });
      return item;
    },
    start() {
      if (started) return;
      started = true;
      dueReset = false;
      timer = setTimeout(() => void tick(), 0);
    },
    async stop() {
      started = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await Promise.allSettled([running, pushing].filter(Boolean));
    },
  };
}
