// Test support for the federated tests: a copy of the shipped model whose ONNX and TF.js exports
// name the classification head's input (`features`) and whose card has the `head` entry, as the
// training pipeline's export does from the next model version on. Until that version lands this
// derives it from the shipped tumornet (1.0.0): the ONNX graph gets an Identity node from the
// Gemm's input to a new graph output `features`, the TF.js model a third output ["gap", 0, 0],
// and the card the head entry, every file re-hashed. A model that already has the entry is copied
// unchanged, so the same tests run against the lead's new model.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { shippedModelDir } from './research';

const PYTHON = '/usr/bin/python3';

/** Appends `features` to the ONNX graph's outputs (Identity of the head Gemm's input); prints F. */
const ADD_FEATURES = `
import sys, onnx
from onnx import helper, TensorProto
src, dst, weight = sys.argv[1], sys.argv[2], sys.argv[3]
m = onnx.load(src)
g = m.graph
gemm = [n for n in g.node if n.op_type == 'Gemm' and len(n.input) > 1 and n.input[1] == weight]
if len(gemm) != 1: raise SystemExit('no single Gemm reads ' + weight)
feat_in = gemm[0].input[0]
init = {i.name: i for i in g.initializer}
F = init[weight].dims[1]
batch = [d.dim_param or d.dim_value for d in g.output[0].type.tensor_type.shape.dim][0]
g.node.append(helper.make_node('Identity', [feat_in], ['features'], name='features_identity'))
g.output.append(helper.make_tensor_value_info('features', TensorProto.FLOAT, [batch, F]))
onnx.checker.check_model(m)
onnx.save(m, dst)
print(F)
`;

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

type Json = Record<string, unknown>;

/**
 * Writes the model with its head's input as a named output to dest/<id> and returns that folder.
 * `source` defaults to the shipped model (TUMORPREDICT_MODELS/tumornet or native-models/tumornet).
 */
export function makeFeatureModel(destParent: string, options: { source?: string; id?: string } = {}): string {
  const src = options.source ?? shippedModelDir();
  const card = JSON.parse(fs.readFileSync(path.join(src, 'model-card.json'), 'utf8')) as Json;
  const id = options.id ?? String(card.id ?? path.basename(src));
  const dest = path.join(destParent, id);
  fs.mkdirSync(destParent, { recursive: true });
  fs.cpSync(src, dest, { recursive: true });
  if (card.head && typeof card.head === 'object') {
    // The training pipeline's own export: nothing to derive.
    if (id !== card.id) rewriteCard(dest, { ...card, id });
    return dest;
  }
  const formats = (card.formats ?? {}) as Json;
  const onnxRel = String(((formats.onnx ?? {}) as Json).path ?? 'model.onnx');
  const tfjsRel = String(((formats.tfjs ?? {}) as Json).path ?? 'tfjs/model.json');
  const onnxFile = path.join(dest, onnxRel);
  const out = execFileSync(PYTHON, ['-c', ADD_FEATURES, onnxFile, onnxFile, 'fc.weight'], { encoding: 'utf8' });
  const F = Number(out.trim().split('\n').pop());
  if (!Number.isInteger(F) || F <= 0) throw new Error(`could not read the head's input size from ${onnxRel}: ${out}`);

  const tfjsFile = path.join(dest, tfjsRel);
  const modelJson = JSON.parse(fs.readFileSync(tfjsFile, 'utf8')) as { modelTopology: { config: { output_layers: unknown[][]; layers: { name: string }[] } } };
  const cfg = modelJson.modelTopology.config;
  if (!cfg.layers.some((l) => l.name === 'gap')) throw new Error(`${tfjsRel} has no layer named gap`);
  cfg.output_layers.push(['gap', 0, 0]);
  fs.writeFileSync(tfjsFile, JSON.stringify(modelJson));

  const next: Json = {
    ...card,
    id,
    head: {
      features: { onnx_output: 'features', tfjs_output_index: cfg.output_layers.length - 1, dim: F },
      onnx: { weight: 'fc.weight', weight_layout: 'out_in', bias: 'fc.bias' },
      tfjs: { kernel: 'logits/kernel', kernel_layout: 'in_out', bias: 'logits/bias' },
      classes: (card.classes as unknown[]).length,
    },
    derived_for_tests: 'features output added by electron/testing/federated-model.ts (same weights as the source model)',
  };
  rewriteCard(dest, next);
  return dest;
}

/** Writes a card with the sha256 of every listed file recomputed. */
function rewriteCard(dir: string, card: Json): void {
  const files = card.files as Record<string, unknown> | { path: string; sha256: string }[];
  if (Array.isArray(files)) {
    card.files = files.map((f) => ({ ...f, sha256: sha256(path.join(dir, f.path)) }));
  } else {
    card.files = Object.fromEntries(Object.keys(files).map((rel) => [rel, sha256(path.join(dir, rel))]));
  }
  fs.writeFileSync(path.join(dir, 'model-card.json'), JSON.stringify(card, null, 1));
}
