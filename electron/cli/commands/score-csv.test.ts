// Score results CSV with hostile file names (issue 12, finding 8): through the product's one CSV cell writer.
import { describe, expect, it } from 'vitest';
import { scoreRow } from './score';
import { HOSTILE, runnable } from '../../testing/csv';

describe('tumorpredict score CSV', () => {
  it('the score results CSV carries hostile file names as text', () => {
    for (const h of HOSTILE) {
      const line = scoreRow({ file: '/x', rel: h, truth: null } as never, {
        ok: true,
        result: { label: 'glioma', probabilities: { glioma: 1 }, confidence: 1, mask: { areaPx: 0 }, width: 1, height: 1, modelId: '=m', modelVersion: '1', runtime: 'r', ms: 1 },
      } as never);
      expect(runnable(line), line).toBe(false);
    }
  });
});
