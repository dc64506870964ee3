// DIMSE as the workstation uses it: the settings (one row, validated on every read), the C-STORE
// SCP started and restarted on them, and the PACS as SCU (echo, study search, retrieve by
// C-MOVE to our own SCP, then the AI run). Every association refused or received, every search
// and retrieve is an audit row (AE titles and counts; never a patient's name or the query text).
import net from 'node:net';
import { dimseSettingsSchema, WorkstationError, type DimsePeer, type DimseSettings, type DimseSettingsView, type DimseStatus, type PacsQuery, type PacsRetrieveResult, type PacsStudy } from '../../contract';
import type { AuditLog } from '../audit';
import type { Logger } from '../log';
import type { Db } from '../store';
import { echo, findStudies, moveStudy, type MoveProgress } from './scu';
import { startStoreScp, type StoreImporter, type StoreScp } from './store-scp';

export interface DimseActor {
  id: string | null;
  name: string;
}

export interface DimseServiceOptions {
  db: () => Db;
  audit: AuditLog;
  logger: Logger;
  /** The normal import path (the DICOM service's importBuffers, adapted). */
  importer: StoreImporter;
  /** Transfer syntaxes the import path reads (the SCP accepts only these). */
  supportedSyntaxes: readonly string[];
  /** Largest data set per C-STORE; default 512 MiB. */
  maxInstanceBytes?: number;
  /** The AI run on a study (retrieve, and pushes when autoRunModel is on). */
  runAi?: (studyId: string, actor: DimseActor) => Promise<unknown>;
}

export interface DimseService {
  getSettings(): DimseSettingsView;
  setSettings(patch: Partial<DimseSettings>, actor: DimseActor): Promise<DimseSettingsView>;
  /** Starts the SCP when enabled (and again on each settings change); the app does, a CLI command does not. */
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): DimseStatus;
  echo(actor: DimseActor): Promise<{ ok: boolean; message: string }>;
  find(q: PacsQuery, actor: DimseActor): Promise<{ studies: PacsStudy[]; truncated: boolean }>;
  /** C-MOVE to our SCP, then the AI run; an abort of `signal` cancels the move (what arrived stays, no AI run). */
  retrieve(studyInstanceUid: string, opts: { runAi: boolean; onProgress?: (p: MoveProgress) => void; signal?: AbortSignal; onAnalysing?: () => void }, actor: DimseActor): Promise<PacsRetrieveResult>;
  /** The PACS in words ("AE at host:port"), or null when none is configured. */
  pacsDescription(): string | null;
}

const SYSTEM = 'system:dimse';

export function createDimseService(o: DimseServiceOptions): DimseService {
  const { db, audit, logger } = o;
  let started = false;
  let scp: StoreScp | null = null;
  let scpError: string | null = null;
  let restarting: Promise<void> = Promise.resolve();
  const counts = { associations: 0, associationsRefused: 0, imported: 0, duplicate: 0, refused: 0 };

  const readSettings = (): DimseSettings => {
    const row = db().prepare('SELECT settings FROM dimse_config WHERE one = 1').get() as { settings: string } | undefined;
    const parsed = dimseSettingsSchema.safeParse(row ? (JSON.parse(row.settings) as unknown) : {});
    if (parsed.success) return parsed.data;
    logger.warn('dimse.settings-invalid', { issues: parsed.error.issues.length });
    return dimseSettingsSchema.parse({});
  };

  const status = (): DimseStatus => {
    const s = readSettings();
    return {
      listening: scp ? { aeTitle: s.aeTitle, address: scp.address, port: scp.port } : null,
      error: scpError,
      associations: counts.associations,
      associationsRefused: counts.associationsRefused,
      received: { imported: counts.imported, duplicate: counts.duplicate, refused: counts.refused },
    };
  };

  /** Whether a caller may associate: an allowed AE (from its address where one is given), or the PACS. */
  const allowed = (s: DimseSettings) => (callingAe: string, remoteAddress: string): boolean => {
    const fromHost = (host: string | null): boolean => !host || host === remoteAddress;
    if (s.allowedCallers.some((c) => c.aeTitle === callingAe && fromHost(c.host))) return true;
    return !!s.pacs && s.pacs.aeTitle === callingAe && (!net.isIP(s.pacs.host) || s.pacs.host === remoteAddress);
  };

  const launch = async (): Promise<void> => {
    if (scp) {
      await scp.close();
      scp = null;
    }
    scpError = null;
    // Stopping (or a workstation closing before its database was ever opened) reads nothing.
    if (!started) return;
    let s: DimseSettings;
    try {
      s = readSettings();
    } catch (err) {
      scpError = err instanceof Error ? err.message : String(err);
      return;
    }
    if (!s.scpEnabled) return;
    try {
      scp = await startStoreScp(
        {
          aeTitle: s.aeTitle,
          port: s.port,
          bindAddress: s.bindAddress,
          allowed: allowed(s),
          importer: o.importer,
          logger,
          maxInstanceBytes: o.maxInstanceBytes ?? 512 * 1024 * 1024,
          onAssociationRefused: (e) => {
            counts.associationsRefused++;
            audit.append({ actorId: null, actor: SYSTEM, action: 'dimse.associate', objectType: 'dimse', outcome: 'refused', detail: { callingAe: e.callingAe, calledAe: e.calledAe, remoteAddress: e.remoteAddress, reason: e.reason } });
          },
          onAssociationEnded: (e) => {
            counts.associations++;
            counts.imported += e.imported;
            counts.duplicate += e.duplicate;
            counts.refused += e.refused;
            audit.append({
              actorId: null,
              actor: SYSTEM,
              action: 'dimse.receive',
              objectType: 'dimse',
              outcome: e.refused && !e.imported && !e.duplicate ? 'failure' : 'success',
              detail: { callingAe: e.callingAe, remoteAddress: e.remoteAddress, imported: e.imported, duplicate: e.duplicate, refused: e.refused, studies: e.studyIds.length, cut: e.cut },
            });
            logger.info('dimse.received', { callingAe: e.callingAe, imported: e.imported, refused: e.refused, cut: e.cut });
            if (readSettings().autoRunModel && o.runAi) {
              for (const id of e.studyIds) void o.runAi(id, { id: null, name: SYSTEM }).catch((err: unknown) => logger.warn('dimse.auto-run-failed', { studyId: id, err }));
            }
          },
        },
        o.supportedSyntaxes,
      );
      logger.info('dimse.listening', { aeTitle: s.aeTitle, address: scp.address, port: scp.port });
    } catch (err) {
      const code = (err as { code?: string }).code;
      scpError = code === 'EADDRINUSE' ? `Port ${s.port} is in use by another program: choose another port.` : code === 'EACCES' ? `Port ${s.port} needs privileges this program does not have: choose a port above 1023.` : `The DIMSE receiver cannot listen on ${s.bindAddress}:${s.port} (${(err as Error).message}).`;
      logger.error('dimse.listen-failed', { err, port: s.port });
    }
  };
  const relaunch = (): Promise<void> => (restarting = restarting.then(launch, launch));

  const pacsOf = (s: DimseSettings): DimsePeer => {
    if (!s.pacs) throw new WorkstationError('UNAVAILABLE', 'No PACS is configured: an admin enters its AE title, host and port in the DIMSE settings.');
    return s.pacs;
  };

  return {
    getSettings: () => ({ settings: readSettings(), status: status() }),
    async setSettings(patch, actor) {
      const current = readSettings();
      const parsed = dimseSettingsSchema.safeParse({ ...current, ...patch });
      if (!parsed.success) throw new WorkstationError('INVALID_INPUT', `These DIMSE settings are not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      const next = parsed.data;
      const changed = (Object.keys(patch) as (keyof DimseSettings)[]).filter((k) => JSON.stringify(current[k]) !== JSON.stringify(next[k]));
      db().prepare('INSERT INTO dimse_config (one, settings, updated_at, updated_by) VALUES (1, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at, updated_by = excluded.updated_by')
        .run(JSON.stringify(next), new Date().toISOString(), actor.name);
      audit.append({ actorId: actor.id, actor: actor.name, action: 'dimse.setSettings', objectType: 'dimse', outcome: 'success', detail: { keys: changed.join(','), scpEnabled: next.scpEnabled } });
      if (started) await relaunch();
      return { settings: next, status: status() };
    },
    async start() {
      started = true;
      await relaunch();
    },
    async stop() {
      started = false;
      await relaunch();
    },
    status,
    async echo(actor) {
      const s = readSettings();
      const pacs = pacsOf(s);
      try {
        await echo(pacs, s.aeTitle);
        audit.append({ actorId: actor.id, actor: actor.name, action: 'dimse.echo', objectType: 'dimse', outcome: 'success', detail: { pacs: pacs.aeTitle } });
        return { ok: true, message: `The PACS ${pacs.aeTitle} at ${pacs.host}:${pacs.port} answered the C-ECHO.` };
      } catch (err) {
        audit.append({ actorId: actor.id, actor: actor.name, action: 'dimse.echo', objectType: 'dimse', outcome: 'failure', detail: { pacs: pacs.aeTitle } });
        return { ok: false, message: (err as Error).message };
      }
    },
    async find(q, actor) {
      const s = readSettings();
      const pacs = pacsOf(s);
      try {
        const r = await findStudies(pacs, s.aeTitle, q);
        const local = db().prepare('SELECT 1 FROM studies WHERE study_instance_uid = ?');
        audit.append({ actorId: actor.id, actor: actor.name, action: 'pacs.find', objectType: 'dimse', outcome: 'success', detail: { pacs: pacs.aeTitle, found: r.studies.length } });
        return { studies: r.studies.map((st) => ({ ...st, local: !!local.get(st.studyInstanceUid) })), truncated: r.truncated };
      } catch (err) {
        audit.append({ actorId: actor.id, actor: actor.name, action: 'pacs.find', objectType: 'dimse', outcome: 'failure', detail: { pacs: pacs.aeTitle } });
        throw err;
      }
    },
    async retrieve(studyInstanceUid, opts, actor) {
      const s = readSettings();
      const pacs = pacsOf(s);
      if (!scp) {
        throw new WorkstationError('UNAVAILABLE', `A retrieve needs this workstation's DIMSE receiver (the PACS sends the study to it), and it is not listening${scpError ? `: ${scpError}` : ': an admin turns it on in the DIMSE settings'}.`);
      }
      let moved: MoveProgress & { cancelled: boolean };
      try {
        moved = await moveStudy(pacs, s.aeTitle, s.aeTitle, studyInstanceUid, opts.onProgress, opts.signal);
      } catch (err) {
        audit.append({ actorId: actor.id, actor: actor.name, action: 'pacs.retrieve', objectType: 'study', objectId: studyInstanceUid, outcome: 'failure', detail: { pacs: pacs.aeTitle } });
        throw err;
      }
      const row = db().prepare('SELECT id FROM studies WHERE study_instance_uid = ?').get(studyInstanceUid) as { id: string } | undefined;
      const studyId = row?.id ?? null;
      let ai: PacsRetrieveResult['ai'] = { state: 'skipped', message: null };
      if (opts.runAi && studyId && o.runAi && !moved.cancelled) {
        opts.onAnalysing?.();
        try {
          await o.runAi(studyId, actor);
          ai = { state: 'done', message: null };
        } catch (err) {
          ai = { state: 'failed', message: (err as Error).message };
        }
      }
      audit.append({ actorId: actor.id, actor: actor.name, action: 'pacs.retrieve', objectType: 'study', objectId: studyId ?? studyInstanceUid, outcome: moved.failed && !moved.completed ? 'failure' : 'success', detail: { pacs: pacs.aeTitle, completed: moved.completed, failed: moved.failed, warnings: moved.warnings, ai: ai.state, cancelled: moved.cancelled } });
      return { studyInstanceUid, transport: 'dimse', cancelled: moved.cancelled, completed: moved.completed, failed: moved.failed, warnings: moved.warnings, studyId, ai };
    },
    pacsDescription() {
      const p = readSettings().pacs;
      return p ? `${p.aeTitle} at ${p.host}:${p.port}` : null;
    },
  };
}
