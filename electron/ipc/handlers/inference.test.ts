// The models.* and inference.* handlers: replies that pass their contract schemas, from the real
// inference service over the shipped model, and staff-only access in the permission matrix.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHANNELS, mayCall } from '../../contract';
import { silentLogger } from '../../services/log';
import { createInferenceService } from '../../services/inference';
import { requireModelDir } from '../../testing/inference';
import { inferenceHandlers } from './inference';
import type { CallContext } from '../handler-table';

const inference = createInferenceService({ config: { modelsFolder: path.dirname(requireModelDir()), runtime: 'auto' }, logger: silentLogger });
afterAll(() => inference.close());
const h = inferenceHandlers({ inference });
const ctx = {} as CallContext;

describe('inference handlers', () => {
  it('models.list returns the shipped model, verified, in the contract shape', async () => {
    const res = await h['models.list']({}, ctx);
    const parsed = CHANNELS['models.list'].response.parse(res);
    expect(parsed.models.find((m) => m.id === 'tumornet')).toMatchObject({ verified: true, inputSize: [128, 128] });
  });

  it('inference.status reports the runtimes, the active one and the pool size', async () => {
    const res = await h['inference.status']({}, ctx);
    const parsed = CHANNELS['inference.status'].response.parse(res);
    expect(parsed.activeRuntime).toBe('onnxruntime-node');
    expect(parsed.runtimes.map((r) => r.name)).toEqual(['tfjs-node-gpu', 'onnxruntime-node', 'tfjs-node', 'tfjs-wasm']);
    expect(parsed.poolSize).toBeGreaterThanOrEqual(1);
  });

  it('is open to staff roles only', () => {
    for (const ch of ['models.list', 'inference.status'] as const) {
      expect(mayCall('admin', ch)).toBe(true);
      expect(mayCall('radiologist', ch)).toBe(true);
      expect(mayCall('researcher', ch)).toBe(true);
      expect(mayCall('patient', ch)).toBe(false);
      expect(mayCall(null, ch)).toBe(false);
    }
  });

  it("modelClaims reads each shipped card's headline and validated sequences, and null for a model that is not installed", () => {
    const v1 = inference.modelClaims('tumornet');
    expect(v1?.headline).toMatchObject({ figure: 'accuracy on TCGA-LGG, a source it never trained on', n: 1663 });
    expect(v1?.validatedSequences).toEqual(['t1ce']);
    const v2 = inference.modelClaims('tumornet-v2');
    expect(v2?.headline).toMatchObject({ figure: 'leave-one-source-out accuracy', n: 8876 });
    expect(v2?.validatedSequences).toEqual(['flair', 't1', 't1ce']);
    expect(inference.modelClaims('no-such-model')).toBeNull();
    expect(inference.modelClaims('../tumornet')).toBeNull();
  });
});
