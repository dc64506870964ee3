// A new global model version: the parent model's verified files with only the classification
// head's bytes replaced (ONNX initializers and TF.js weights, in place), a card under a new id and
// version that says where it came from (parent, round, sites, gate, hashes) and re-hashes every file.
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import type { LoadedModel } from '../inference';
import { readOnnxHead, readTfjsHead, writeOnnxHead, writeTfjsHead, type HeadWeights, type TfjsModelJson } from './model-head';
import { headSha256, sha256Hex } from './package';

type Json = Record<string, unknown>;

export interface VersionInfo {
  id: string;
  version: string;
  /** The card's `federated` block: parent, round, sites, rule, gate result, package hashes. */
  federated: Json;
  /** Reference-set metrics of the new head, in the card's metrics layout (validation_classification). */
  metrics: Json;
  /** One paragraph for MODEL_CARD.md. */
  summary: string;
}

/** The parent's head as the ONNX file holds it (the TF.js copy must agree: checked). */
export function parentHead(model: LoadedModel): HeadWeights {
  const { spec, files } = model;
  if (!spec.head) throw new WorkstationError('CONFLICT', `The model ${spec.id} ${spec.version} does not name its classification head in its card (no "head" entry), so it cannot take part in federated training. A model exported with the head entry is needed.`);
  if (!spec.onnx) throw new WorkstationError('CONFLICT', `The model ${spec.id} ships no ONNX file; federated training reads features with onnxruntime.`);
  return readOnnxHead(files.get(spec.onnx.file)!, spec.head);
}

function tfjsParts(model: LoadedModel): { json: TfjsModelJson; jsonPath: string; shards: Map<string, Uint8Array>; base: string } | null {
  const t = model.spec.tfjs;
  if (!t) return null;
  const json = JSON.parse(Buffer.from(model.files.get(t.file)!).toString('utf8')) as TfjsModelJson;
  const base = path.posix.dirname(t.file);
  const shards = new Map<string, Uint8Array>();
  for (const g of json.weightsManifest) {
    for (const p of g.paths) {
      const rel = base === '.' ? p : `${base}/${p}`;
      const b = model.files.get(rel);
      if (!b) throw new WorkstationError('CONFLICT', `The model ${model.spec.id} needs ${rel}, which its card does not list.`);
      shards.set(p, b);
    }
  }
  return { json, jsonPath: t.file, shards, base };
}

/** Checks that the ONNX and TF.js copies of the parent carry the same head (within float32 rounding). */
export function checkHeadsAgree(model: LoadedModel): void {
  const onnx = parentHead(model);
  const t = tfjsParts(model);
  if (!t || !model.spec.tfjs || !model.spec.head?.tfjs) return;
  const tf = readTfjsHead(t.json, t.shards, model.spec.head);
  let d = 0;
  for (let k = 0; k < onnx.weight.length; k++) d = Math.max(d, Math.abs(onnx.weight[k]! - tf.weight[k]!));
  for (let k = 0; k < onnx.bias.length; k++) d = Math.max(d, Math.abs(onnx.bias[k]! - tf.bias[k]!));
  if (d > 1e-5) throw new WorkstationError('CONFLICT', `The ONNX and TF.js files of ${model.spec.id} hold different heads (largest difference ${d.toExponential(2)}); the export is inconsistent.`);
}

/** The card document gains one section per federated version, made only from card fields (a site rebuilds it byte for byte). */
function appendSummary(files: Map<string, Uint8Array>, id: string, version: string, summary: string): void {
  const doc = files.get('MODEL_CARD.md');
  if (!doc) return;
  const text = Buffer.from(doc).toString('utf8');
  files.set('MODEL_CARD.md', Buffer.from(`${text.trimEnd()}\n\n## Federated version ${id} ${version}\n\n${summary}\n`, 'utf8'));
}

function rewriteHead(model: LoadedModel, head: HeadWeights): Map<string, Uint8Array> {
  const { spec } = model;
  if (!spec.head || !spec.onnx) throw new WorkstationError('CONFLICT', `The model ${spec.id} cannot take a new head (no head entry or no ONNX file).`);
  checkHeadsAgree(model);
  const out = new Map(model.files);
  out.set(spec.onnx.file, writeOnnxHead(model.files.get(spec.onnx.file)!, spec.head, head));
  // The int8 file keeps the head in float under the same initializer names: it takes the new head too.
  const int8 = spec.onnxInt8 ? model.files.get(spec.onnxInt8.file) : undefined;
  if (spec.onnxInt8 && int8) out.set(spec.onnxInt8.file, writeOnnxHead(int8, spec.head, head));
  const t = tfjsParts(model);
  if (t && spec.head.tfjs) {
    for (const [p, b] of writeTfjsHead(t.json, t.shards, spec.head, head)) out.set(t.base === '.' ? p : `${t.base}/${p}`, b);
  }
  return out;
}

function writeFolder(dest: string, id: string, listed: string[], files: Map<string, Uint8Array>, cardBytes: Uint8Array): void {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const staging = fs.mkdtempSync(path.join(path.dirname(dest), `.fed-${id}-`));
  try {
    for (const rel of listed) {
      const to = path.join(staging, rel);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.writeFileSync(to, files.get(rel)!);
    }
    fs.writeFileSync(path.join(staging, 'model-card.json'), cardBytes);
    fs.renameSync(staging, dest);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new WorkstationError('UNAVAILABLE', `The model version ${id} could not be written; nothing was installed.`, { cause: err });
  }
}

/**
 * A site's copy of a published version: its own verified parent files with the published head
 * written in, checked file by file against the published card's sha256s; the card is written
 * byte for byte as published. Refuses any mismatch (the head, the parent or the card differ).
 */
export function rebuildVersion(model: LoadedModel, head: HeadWeights, cardText: string, dest: string): { dir: string } {
  const card = JSON.parse(cardText) as Json;
  const fed = (card.federated ?? {}) as Json;
  const id = String(card.id ?? '');
  const version = String(card.version ?? '');
  if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new WorkstationError('INVALID_INPUT', 'The published model card has no valid id.');
  if (fs.existsSync(dest)) throw new WorkstationError('CONFLICT', `A model folder ${path.basename(dest)} already exists.`);
  const out = rewriteHead(model, head);
  if (typeof fed.summary === 'string') appendSummary(out, id, version, fed.summary);
  const raw = card.files;
  const expected: { path: string; sha256: string }[] = Array.isArray(raw) ? (raw as { path: string; sha256: string }[]) : Object.entries((raw ?? {}) as Record<string, string>).map(([p, h]) => ({ path: p, sha256: h }));
  const listed = model.spec.files.map((f) => f.path);
  if (expected.length !== listed.length || expected.some((e) => !listed.includes(e.path))) throw new WorkstationError('CONFLICT', `The published version ${id} lists other files than its parent ${model.spec.id} has here.`);
  for (const e of expected) {
    const got = sha256Hex(out.get(e.path)!);
    if (got !== e.sha256) throw new WorkstationError('CONFLICT', `The model ${id} rebuilt here from ${model.spec.id} and the published head does not match the published card: ${e.path} has sha256 ${got.slice(0, 12)}…, the card says ${String(e.sha256).slice(0, 12)}…. Nothing was installed.`);
  }
  writeFolder(dest, id, listed, out, Buffer.from(cardText, 'utf8'));
  return { dir: dest };
}

/**
 * Writes the new version into `dest` (which must not exist): staging folder first, the card last,
 * then renamed into place. Returns the files' bytes as written and the card's sha256.
 */
export function writeHeadVersion(model: LoadedModel, head: HeadWeights, dest: string, info: VersionInfo): { dir: string; cardSha256: string; files: Map<string, Uint8Array> } {
  const { spec } = model;
  if (!/^[A-Za-z0-9._-]+$/.test(info.id)) throw new WorkstationError('INVALID_INPUT', `"${info.id}" is not a valid model id.`);
  if (fs.existsSync(dest)) throw new WorkstationError('CONFLICT', `A model folder ${path.basename(dest)} already exists.`);
  const out = rewriteHead(model, head);
  const parentCardPath = path.join(model.dir, 'model-card.json');
  const card = JSON.parse(fs.readFileSync(parentCardPath, 'utf8')) as Json;
  const parentCardSha = sha256Hex(fs.readFileSync(parentCardPath));
  appendSummary(out, info.id, info.version, info.summary);
  const next: Json = {
    ...card,
    id: info.id,
    version: info.version,
    name: `${String(card.name ?? spec.id)} (federated head, ${info.version})`,
    metrics: { ...info.metrics, parent: card.metrics ?? null },
    federated: { ...info.federated, summary: info.summary, parent: { id: spec.id, version: spec.version, card_sha256: parentCardSha, head_sha256: headSha256(parentHead(model)) }, head_sha256: headSha256(head) },
  };
  const listed = spec.files.map((f) => f.path);
  const hashes = Object.fromEntries(listed.map((rel) => [rel, sha256Hex(out.get(rel)!)]));
  next.files = Array.isArray(card.files) ? listed.map((rel) => ({ path: rel, sha256: hashes[rel] })) : hashes;
  const cardBytes = Buffer.from(JSON.stringify(next, null, 1), 'utf8');
  writeFolder(dest, info.id, listed, out, cardBytes);
  return { dir: dest, cardSha256: sha256Hex(cardBytes), files: out };
}
