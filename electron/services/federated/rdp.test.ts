// The RDP accountant against the figures TensorFlow Privacy published for its MNIST DP-SGD
// tutorial (tensorflow/privacy, tutorials/README.md: "Expected Output" and "Select Parameters";
// 60,000 examples, batch 256, steps = epochs * (60000 // 256), delta = 1e-5, the tutorial's
// orders 1.1..10.9 and 12..63, the classic RDP-to-DP conversion those figures used).
import { describe, expect, it } from 'vitest';
import { addRdp, computeRdp, DEFAULT_ORDERS, dpSgdEpsilon, epsilonFromRdp, logErfc, rdpOneStep } from './rdp';

const mnist = (sigma: number, epochs: number, conversion: 'classic' | 'improved' = 'classic') =>
  dpSgdEpsilon({ n: 60000, batchSize: 256, noiseMultiplier: sigma, epochs, delta: 1e-5, steps: epochs * Math.floor(60000 / 256), conversion }).epsilon;

describe('RDP accountant for the subsampled Gaussian mechanism', () => {
  it('reproduces the tutorial output: epsilon 1.00 after 1 epoch, 1.04 after 2, 2.92 after 60 (sigma 1.12)', () => {
    expect(mnist(1.12, 1).toFixed(2)).toBe('1.00');
    expect(mnist(1.12, 2).toFixed(2)).toBe('1.04');
    expect(mnist(1.12, 60).toFixed(2)).toBe('2.92');
  });

  it('reproduces the parameter table: sigma 1.2 for 10 epochs 1.20; sigma 0.6 for 30 epochs 9.74 (ours 9.747)', () => {
    expect(mnist(1.2, 10).toFixed(2)).toBe('1.20');
    // The table prints 9.74; this accountant gives 9.7469 at order 2.9. The 0.007 gap is below the
    // table's own rounding of older library versions; the other four figures match to the digit.
    expect(Math.abs(mnist(0.6, 30) - 9.74)).toBeLessThan(0.01);
  });

  it('the improved conversion (TF Privacy today) is never looser than the classic one', () => {
    for (const [s, e] of [[1.12, 60], [0.6, 30], [1.2, 10], [1.12, 1]] as const) expect(mnist(s, e, 'improved')).toBeLessThan(mnist(s, e, 'classic'));
  });

  it('edge cases: no sampling costs nothing, full batches are the plain Gaussian alpha / (2 sigma^2), no noise is infinite', () => {
    expect(rdpOneStep(0, 1, 5)).toBe(0);
    expect(rdpOneStep(1, 2, 5)).toBeCloseTo(5 / 8, 12);
    expect(rdpOneStep(0.01, 0, 5)).toBe(Infinity);
  });

  it('integer and fractional orders agree where they meet, and RDP grows with the order', () => {
    const q = 0.01;
    const s = 1.1;
    expect(rdpOneStep(q, s, 3.0000001)).toBeCloseTo(rdpOneStep(q, s, 3), 6);
    const r = DEFAULT_ORDERS.map((a) => rdpOneStep(q, s, a));
    for (let i = 1; i < r.length; i++) expect(r[i]!).toBeGreaterThanOrEqual(r[i - 1]! - 1e-12);
  });

  it('composition across rounds adds RDP: two rounds of k steps equal one of 2k', () => {
    const one = computeRdp(0.02, 1.0, 300);
    const two = computeRdp(0.02, 1.0, 600);
    expect(epsilonFromRdp(addRdp(one, one), 1e-5).epsilon).toBeCloseTo(epsilonFromRdp(two, 1e-5).epsilon, 9);
    expect(epsilonFromRdp(two, 1e-5).epsilon).toBeGreaterThan(epsilonFromRdp(one, 1e-5).epsilon);
  });

  it('log erfc stays finite where erfc underflows and matches erfc where it does not', () => {
    // Asymptotic series: -x^2 - ln x - ln(pi)/2 - 1/(2x^2) + 5/(8x^4) ...
    expect(logErfc(30)).toBeCloseTo(-900 - Math.log(30) - 0.5 * Math.log(Math.PI) - 0.5 / 900 + 0.625 / 810000, 5);
    expect(Math.exp(logErfc(0.5))).toBeCloseTo(0.4795001222, 6);
    expect(Math.exp(logErfc(-1))).toBeCloseTo(1.8427007929, 6);
  });
});
