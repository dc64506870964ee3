// MR window presets: the series' own Window Center/Width when the file gives one, and an auto
// window from the histogram of the tissue that neither burns the brain out nor lets hot pixels
// flatten it (the old fixed "high contrast" W36/L48 preset turned it into a white silhouette).
import { describe, expect, it } from 'vitest';
import type { FrameInfo } from './cornerstone-setup';
import { MR_PRESETS, histogramWindow } from './presets';

function head(): { px: Float32Array; info: FrameInfo } {
  // 60% air (0..20), tissue 300..700 evenly, and a few hot pixels at 4000 (vessels, artefacts).
  const n = 10_000;
  const px = new Float32Array(n);
  for (let i = 0; i < n; i++) px[i] = i < 6000 ? (i % 20) : i < 9990 ? 300 + ((i - 6000) % 400) : 4000;
  const info: FrameInfo = { instanceId: 'i', frame: 0, rows: 100, columns: 100, pixelSpacing: null, photometric: 'MONOCHROME2', defaultWindow: { center: 2000, width: 4000 }, windowFromFile: false, range: { min: 0, max: 4000 } };
  return { px, info };
}

describe('MR window presets', () => {
  it('takes the auto window from the tissue, not the air or the hot pixels', () => {
    const { px, info } = head();
    const w = histogramWindow(px, info.range);
    expect(w.center).toBeGreaterThan(450);
    expect(w.center).toBeLessThan(550);
    expect(w.width).toBeGreaterThan(300);
    expect(w.width).toBeLessThan(450);
    // Almost no tissue is clipped white by it.
    const top = w.center + w.width / 2;
    const tissue = Array.from(px).filter((v) => v >= 300 && v < 4000);
    expect(tissue.filter((v) => v > top).length / tissue.length).toBeLessThan(0.03);
  });

  it("uses the series' own window from the file, and the full range when the file gives none", () => {
    const { px, info } = head();
    const series = MR_PRESETS.find((p) => p.key === '1')!;
    expect(series.window({ ...info, windowFromFile: true, defaultWindow: { center: 480, width: 700 } }, px)).toEqual({ center: 480, width: 700 });
    expect(series.window(info, px)).toEqual({ center: 2000, width: 4000 });
    expect(MR_PRESETS.map((p) => p.label)).toEqual(['Series window', 'Auto (histogram)', 'Auto, soft', 'Full range']);
  });
});
