// Bench suite "inference-int8": images per second of a model's statically quantized ONNX file
// against its float file, through the same inference service, on the same preprocessed MRI
// slices, in alternating rounds of the same run (the shared machine's load hits both alike). It
// prints the peaks it assumes with their reasons: FP32 (nominal, halved on AMD Zen 4), the
// measured GEMM ceiling, and the int8 VNNI peak.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../services/log';
import { appRoot, resolveConfig } from '../../services/config';
import { createInferenceService, decodeImage, parseModelCard, preprocess, readCardJson, type InferenceInput } from '../../services/inference';
import { bestRate, cpuPeak, gemmCeiling } from './inference';
import type { BenchSuite } from './types';

/** The first model folder whose card names an int8 file (newest id first, so tumornet-v2 before tumornet). */
function modelWithInt8(modelsFolder: string): string | null {
  const dirs = fs.existsSync(modelsFolder) ? fs.readdirSync(modelsFolder).sort().reverse() : [];
  for (const d of dirs) {
    const card = path.join(modelsFolder, d, 'model-card.json');
    if (!fs.existsSync(card)) continue;
    const c = JSON.parse(fs.readFileSync(card, 'utf8')) as { int8?: { file?: string } };
    if (c.int8?.file && fs.existsSync(path.join(modelsFolder, d, c.int8.file))) return path.join(modelsFolder, d);
  }
  return null;
}

export const inferenceInt8Bench: BenchSuite = {
  name: 'inference-int8',
  description: 'int8 (QDQ) against float ONNX img/s in the same run, onnxruntime-node, with the FP32, GEMM and VNNI peaks',
  async run(ctx) {
    const modelsFolder = resolveConfig({ transport: 'cli' }).modelsFolder;
    const modelDir = modelWithInt8(modelsFolder);
    if (!modelDir) throw new Error(`No model in ${modelsFolder} has an int8 file: run /usr/bin/python3 native-models/training/quantize.py first.`);
    const card = readCardJson(modelDir);
    const spec = parseModelCard(card, modelDir);
    const cpu = cpuPeak();
    const vnni = cpu.int8Isa === 'avx512-vnni';
    // VPDPBUSD: 512 bits = 64 u8 x s8 products summed into 16 int32 lanes per instruction, 2 per cycle
    // nominal (2 ops per MAC). AMD Zen 4 runs 512-bit instructions on 256-bit units, so it sustains
    // half of the FP32 and the VNNI figure; the bench says which CPU the machine reports.
    const vnniNominal = vnni ? cpu.cores * cpu.nominalGHz * 2 * 64 * 2 : null;
    const halfRate = cpu.halfRate512;
    const sustained = (x: number): string =>
      halfRate
        ? `this AMD CPU runs 512-bit instructions on 256-bit units: about ${(x / 2).toFixed(0)} sustained`
        : `the CPU reports itself as "${cpu.model}"${cpu.avx512 ? '' : ', without AVX-512'} (no 256-bit halving assumed; the measured ceiling says what it delivers)`;
    ctx.log(`model ${spec.id} ${spec.version} (${path.basename(modelDir)}): float ${spec.onnx?.file}, int8 ${spec.onnxInt8?.file} (card: chosen ${spec.onnxInt8?.chosen ?? false})`);
    ctx.log(`FP32 peak: ${cpu.peakGflops} GFLOP/s nominal (${cpu.how}); ${sustained(cpu.peakGflops)}`);
    const gemm = await gemmCeiling(cpu.cores, ctx.quick ? 1 : 3);
    ctx.log(`GEMM ceiling (onnxruntime-node float MatMul ${gemm.size}^3, ${gemm.threads} threads, this run): ${gemm.gflops} GFLOP/s`);
    ctx.log(
      vnniNominal
        ? `int8 VNNI peak: ${vnniNominal.toFixed(0)} GOP/s nominal (cores x clock x 2 VPDPBUSD/cycle x 64 MACs x 2); ${sustained(vnniNominal)}`
        : `int8: this CPU has no AVX-512 VNNI${cpu.int8Isa === 'avx-vnni' ? ' (it has AVX-VNNI, 256-bit)' : cpu.int8Isa === 'avx2' ? ': its int8 products run on AVX2 (VPMADDUBSW, VPMADDWD, VPADDD: three instructions where VNNI has one VPDPBUSD), so int8 gains less over float here than on a VNNI CPU' : ''}`,
    );

    const dataset = path.resolve(appRoot(), '../shared/datasets/brain-tumor-mri');
    if (!fs.existsSync(dataset)) throw new Error(`The bench needs the MRI data set at ${dataset}.`);
    const files = ['glioma', 'meningioma', 'notumor', 'pituitary'].flatMap((c) => fs.readdirSync(path.join(dataset, c)).sort().slice(0, 16).map((f) => path.join(dataset, c, f)));
    const tensors = files.map((f) => ({ data: preprocess(decodeImage(fs.readFileSync(f)), spec.preprocess), width: spec.preprocess.width, height: spec.preprocess.height }));
    const batch = 16;
    const n = batch * 8;
    const inputs: InferenceInput[] = Array.from({ length: n }, (_, i) => ({ id: String(i), source: { kind: 'tensor', ...tensors[i % tensors.length]! } }));
    const seconds = ctx.quick ? 0.9 : 3;
    const rounds = ctx.quick ? 1 : 3;
    // The pool as the app sets it up (its default workers and threads per worker), so the figure
    // is what a user gets. (With 1 worker x all cores, int8 gained less: its upsampling runs on one
    // thread and leaves the other core idle; measured 1.43x against 1.87x on this machine.)
    const svc = {
      float: createInferenceService({ config: { modelsFolder, runtime: 'onnxruntime-node' }, logger: silentLogger, precision: 'float' }),
      int8: createInferenceService({ config: { modelsFolder, runtime: 'onnxruntime-node' }, logger: silentLogger, precision: 'int8' }),
    };
    const { poolSize, threadsPerWorker } = svc.float.status();
    const pool = `${poolSize} worker${poolSize === 1 ? '' : 's'} x ${threadsPerWorker} thread${threadsPerWorker === 1 ? '' : 's'}`;
    const modelId = spec.id;
    const rates: { float: number[]; int8: number[] } = { float: [], int8: [] };
    // Same answers? The share of images whose label is the same under both.
    let agree = 0;
    try {
      for (const k of ['float', 'int8'] as const) {
        await svc[k].warmUp({ modelId, runtime: 'onnxruntime-node' });
        await svc[k].classify(inputs.slice(0, batch), { modelId, runtime: 'onnxruntime-node', batchSize: batch });
      }
      const a = await svc.float.classify(inputs.slice(0, tensors.length), { modelId, runtime: 'onnxruntime-node', batchSize: batch });
      const b = await svc.int8.classify(inputs.slice(0, tensors.length), { modelId, runtime: 'onnxruntime-node', batchSize: batch });
      a.forEach((o, i) => { const p = b[i]; if (o.ok && p?.ok && o.result.label === p.result.label) agree++; });
      for (let r = 0; r < rounds; r++) {
        for (const k of ['float', 'int8'] as const) {
          const ips = await bestRate(() => svc[k].classify(inputs, { modelId, runtime: 'onnxruntime-node', batchSize: batch }), n, seconds);
          rates[k].push(Number(ips.toFixed(1)));
          ctx.log(`round ${r + 1} ${k}: ${ips.toFixed(1)} img/s (batch ${batch}, ${pool}, the app's default pool)`);
        }
      }
    } finally {
      await svc.float.close();
      await svc.int8.close();
    }
    const best = { float: Math.max(...rates.float), int8: Math.max(...rates.int8) };
    const ratio = best.int8 / best.float;
    const perRound = rates.float.map((f, i) => Number((rates.int8[i]! / f).toFixed(2)));
    ctx.log(`int8 ${best.int8} img/s vs float ${best.float} img/s: ${ratio.toFixed(2)}x (per round ${perRound.join(', ')}); same label on ${agree}/${tensors.length} bench slices`);
    const int8Card = (card as { int8?: unknown }).int8 ?? null;
    return {
      model: { id: spec.id, version: spec.version, dir: path.basename(modelDir), float: spec.onnx?.file, int8: spec.onnxInt8?.file, chosenByCard: spec.onnxInt8?.chosen ?? false },
      cardValidation: int8Card,
      cpu,
      halfRate512: halfRate,
      gemmCeiling: gemm,
      vnni: { present: vnni, nominalGops: vnniNominal ? Number(vnniNominal.toFixed(0)) : null, sustainedGops: vnniNominal ? Number((halfRate ? vnniNominal / 2 : vnniNominal).toFixed(0)) : null },
      batch,
      pool: { workers: poolSize, threadsPerWorker },
      rounds: rates,
      bestImgPerSec: best,
      int8OverFloat: Number(ratio.toFixed(2)),
      perRoundRatios: perRound,
      targetAtLeast1_5x: ratio >= 1.5,
      sameLabelOnBenchSlices: `${agree}/${tensors.length}`,
      loadAverage: os.loadavg(),
      note: 'Alternating rounds (float, int8, ...) of the same service configuration; each rate is the best of 3 time slices; model-only (preprocessed tensors through the worker pool, postprocessing included).',
    };
  },
};
