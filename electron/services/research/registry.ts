// The model registry: installs a model folder into the models folder after the inference
// service's own sha256 check, lists installed models with their status, activates one for
// clinical use (admin) and retires models. Loading and verification stay in services/inference.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError, type RegistryModel } from '../../contract';
import type { AuditLog } from '../audit';
import { parseModelCard, readCardJson, readVerifiedFiles, type InferenceService } from '../inference';
import type { Db } from '../store';

export interface Actor {
  userId: string | null;
  username: string;
}

export interface RegistryDeps {
  db: () => Db;
  inference: InferenceService;
  audit: AuditLog;
  modelsFolder: string;
}

interface Row {
  model_id: string;
  version: string;
  status: 'research' | 'active' | 'retired';
  card_sha256: string;
}

export function cardSha256(dir: string): string | null {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, 'model-card.json'))).digest('hex');
  } catch {
    return null;
  }
}

const now = (): string => new Date().toISOString();

export function createRegistry(deps: RegistryDeps) {
  const { db, inference, audit, modelsFolder } = deps;

  function rows(): Map<string, Row> {
    const list = db().prepare('SELECT model_id, version, status, card_sha256 FROM research_models').all() as Row[];
    return new Map(list.map((r) => [r.model_id, r]));
  }

  async function list(): Promise<RegistryModel[]> {
    const models = await inference.listModels();
    const reg = rows();
    const anyActive = [...reg.values()].some((r) => r.status === 'active');
    const fallback = inference.status().defaultModel;
    return models.map((m) => {
      const row = reg.get(m.id);
      // With no explicit activation, the model clinical scoring picks by default counts as active.
      let status = row?.status ?? 'research';
      if (!anyActive && m.id === fallback && status !== 'retired') status = 'active';
      return {
        id: m.id,
        version: m.version,
        formats: m.formats,
        classes: m.classes,
        verified: m.verified,
        ...(m.problem ? { problem: m.problem } : {}),
        status,
        cardSha256: cardSha256(path.join(modelsFolder, m.id)),
      };
    });
  }

  async function get(id: string): Promise<RegistryModel> {
    const m = (await list()).find((x) => x.id === id);
    if (!m) throw new WorkstationError('NOT_FOUND', `No model "${id.slice(0, 64)}" is installed.`, { details: { model: id } });
    return m;
  }

  async function install(source: string, actor: Actor): Promise<RegistryModel> {
    const src = path.resolve(source);
    if (!fs.existsSync(path.join(src, 'model-card.json'))) {
      throw new WorkstationError('INVALID_INPUT', `${source} is not a model folder: it has no model-card.json.`);
    }
    const card = readCardJson(src);
    const spec = parseModelCard(card, src);
    if (!/^[A-Za-z0-9._-]+$/.test(spec.id) || spec.id.startsWith('.')) throw new WorkstationError('INVALID_INPUT', `The model card's id "${spec.id.slice(0, 64)}" is not a valid model id (letters, digits, . _ -).`);
    // The same check inference runs on every load: every listed file against its sha256.
    const files = await readVerifiedFiles(src, spec);
    const dest = path.join(modelsFolder, spec.id);
    if (fs.existsSync(dest)) {
      const existing = fs.existsSync(path.join(dest, 'model-card.json')) ? String(readCardJson(dest).version ?? '?') : '?';
      throw new WorkstationError('CONFLICT', `A model with the id "${spec.id}" is already installed (version ${existing}). Give the new model its own id in its model card to install it beside that one.`, {
        details: { model: spec.id },
      });
    }
    fs.mkdirSync(modelsFolder, { recursive: true });
    // Files go to a staging folder without the card (invisible to listings), are renamed into
    // place, and the card is written last: a crash leaves no half-installed model that lists.
    const staging = fs.mkdtempSync(path.join(modelsFolder, `.install-${spec.id}-`));
    try {
      for (const [rel, bytes] of files) {
        const to = path.join(staging, rel);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.writeFileSync(to, bytes);
      }
      const doc = path.join(src, 'MODEL_CARD.md');
      if (fs.existsSync(doc)) fs.copyFileSync(doc, path.join(staging, 'MODEL_CARD.md'));
      fs.renameSync(staging, dest);
    } catch (err) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw new WorkstationError('UNAVAILABLE', `The model ${spec.id} could not be copied into ${modelsFolder}; nothing was installed.`, { cause: err });
    }
    const cardBytes = fs.readFileSync(path.join(src, 'model-card.json'));
    fs.writeFileSync(path.join(dest, 'model-card.json.tmp'), cardBytes);
    fs.renameSync(path.join(dest, 'model-card.json.tmp'), path.join(dest, 'model-card.json'));
    try {
      await inference.loadModel(spec.id); // verifies the installed copy
    } catch (err) {
      fs.rmSync(dest, { recursive: true, force: true });
      throw err;
    }
    const sha = crypto.createHash('sha256').update(cardBytes).digest('hex');
    const t = now();
    db()
      .prepare(
        `INSERT INTO research_models (model_id, version, status, card_sha256, installed_at, installed_by, updated_at, updated_by)
         VALUES (?, ?, 'research', ?, ?, ?, ?, ?)
         ON CONFLICT (model_id) DO UPDATE SET version = excluded.version, status = 'research', card_sha256 = excluded.card_sha256, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      )
      .run(spec.id, spec.version, sha, t, actor.username, t, actor.username);
    audit.append({ actorId: actor.userId, actor: actor.username, action: 'models.install', objectType: 'model', objectId: spec.id, outcome: 'success', detail: { version: spec.version } });
    return get(spec.id);
  }

  async function setStatus(id: string, status: 'active' | 'retired', actor: Actor): Promise<RegistryModel> {
    const m = await get(id);
    if (!m.verified) throw new WorkstationError('CONFLICT', `The model ${id} failed its hash check and cannot be ${status === 'active' ? 'activated' : 'retired'}: ${m.problem ?? 'reinstall it.'}`);
    if (status === 'active' && m.status === 'retired') throw new WorkstationError('CONFLICT', `The model ${id} is retired; install it again (with a new id) to use it.`);
    if (status === 'retired' && m.status === 'active') throw new WorkstationError('CONFLICT', `The model ${id} is the active clinical model; activate another model before retiring it.`);
    const conn = db();
    const t = now();
    conn.transaction(() => {
      if (status === 'active') {
        // The model that was active by default gets a row, so it stays listed as research.
        conn.prepare(`UPDATE research_models SET status = 'research', updated_at = ?, updated_by = ? WHERE status = 'active'`).run(t, actor.username);
      }
      conn
        .prepare(
          `INSERT INTO research_models (model_id, version, status, card_sha256, installed_at, installed_by, updated_at, updated_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (model_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        )
        .run(id, m.version, status, m.cardSha256 ?? '', t, actor.username, t, actor.username);
    })();
    audit.append({ actorId: actor.userId, actor: actor.username, action: status === 'active' ? 'models.activate' : 'models.retire', objectType: 'model', objectId: id, outcome: 'success', detail: { version: m.version } });
    return get(id);
  }

  return {
    list,
    get,
    install,
    activate: (id: string, actor: Actor) => setStatus(id, 'active', actor),
    retire: (id: string, actor: Actor) => setStatus(id, 'retired', actor),
    /**
     * The model an admin activated for clinical scoring, or null for the inference default (which
     * list() also shows as active while none is activated). Asked at the start of every clinical
     * run, so it reads one row and checks the folder instead of listing (and loading) every
     * installed model; an activated model whose folder is gone counts as none, as in list().
     */
    async activeModelId(): Promise<string | null> {
      const row = db().prepare(`SELECT model_id FROM research_models WHERE status = 'active'`).get() as { model_id: string } | undefined;
      return row && fs.existsSync(path.join(modelsFolder, row.model_id, 'model-card.json')) ? row.model_id : null;
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;
