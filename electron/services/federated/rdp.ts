// Renyi differential privacy accountant for the Poisson-subsampled Gaussian mechanism (DP-SGD),
// after Mironov, Talwar and Zhang, "Renyi Differential Privacy of the Sampled Gaussian Mechanism"
// (2019), as TensorFlow Privacy's rdp_accountant computes it: the RDP of one step at integer and
// fractional orders, composed over steps by addition, and converted to (epsilon, delta).

/** TensorFlow Privacy's default orders: 1.1 .. 10.9 in steps of 0.1, then 12 .. 63. */
export const DEFAULT_ORDERS: readonly number[] = [...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10), ...Array.from({ length: 52 }, (_, i) => 12 + i)];

function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (hi === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

function logSub(a: number, b: number): number {
  // log(exp(a) - exp(b)) for a >= b.
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  if (a < b) throw new RangeError('logSub: the result would be negative');
  return Math.log(Math.expm1(a - b)) + b;
}

/** log of the binomial coefficient for real alpha (Gamma function via log-gamma). */
function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), |relative error| < 1e-15 for x > 0.5.
  const g = 7;
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Sign and log|binom(alpha, i)| for real alpha and integer i >= 0. */
function binom(alpha: number, i: number): { sign: number; log: number } {
  // binom(alpha, i) = prod_{k=0}^{i-1} (alpha - k) / (i!) : exact sign, log magnitude.
  let sign = 1;
  let log = 0;
  for (let k = 0; k < i; k++) {
    const t = alpha - k;
    if (t === 0) return { sign: 0, log: -Infinity };
    if (t < 0) sign = -sign;
    log += Math.log(Math.abs(t));
  }
  return { sign, log: log - logGamma(i + 1) };
}

/**
 * log(erfc(x)), accurate where erfc underflows: W. J. Cody's Chebyshev fit as in Numerical
 * Recipes' erfcc (relative error below 1.2e-7), kept in log form for x >= 0.
 */
export function logErfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const logR = Math.log(t) + poly;
  return x >= 0 ? logR : Math.log(2 - Math.exp(logR));
}

function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  for (let i = 0; i <= alpha; i++) {
    const lc = binom(alpha, i).log + i * Math.log(q) + (alpha - i) * Math.log(1 - q);
    logA = logAdd(logA, lc + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

function logAFrac(q: number, sigma: number, alpha: number): number {
  // Sum over i of the two tails (Mironov et al., section 3.3), until the terms are negligible.
  let a0 = -Infinity;
  let a1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  for (let i = 0; ; i++) {
    const c = binom(alpha, i);
    const j = alpha - i;
    const logT0 = c.log + i * Math.log(q) + j * Math.log(1 - q);
    const logT1 = c.log + j * Math.log(q) + i * Math.log(1 - q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (c.sign > 0) {
      a0 = logAdd(a0, logS0);
      a1 = logAdd(a1, logS1);
    } else if (c.sign < 0) {
      a0 = logSub(a0, logS0);
      a1 = logSub(a1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
    if (i > 100_000) throw new RangeError('RDP series did not converge');
  }
  return logAdd(a0, a1);
}

/** RDP of one step of the sampled Gaussian mechanism at order alpha (sampling rate q, noise sigma). */
export function rdpOneStep(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (!Number.isFinite(alpha)) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** RDP of `steps` steps at each order (composition adds RDP). */
export function computeRdp(q: number, sigma: number, steps: number, orders: readonly number[] = DEFAULT_ORDERS): number[] {
  return orders.map((a) => rdpOneStep(q, sigma, a) * steps);
}

/** Sums RDP vectors (composition across rounds). */
export function addRdp(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError('RDP vectors over different orders');
  return a.map((x, i) => x + b[i]!);
}

export type Conversion =
  /** eps = rdp - log(delta) / (alpha - 1): the bound of Mironov (2017), used by the 2018-2019 tutorials. */
  | 'classic'
  /** The tighter bound of Canonne, Kamath and Steinke (2020) / Balle et al. (2020), TF Privacy's current one. */
  | 'improved';

/** The smallest epsilon over the orders for a target delta, and the order that gives it. */
export function epsilonFromRdp(rdp: readonly number[], delta: number, orders: readonly number[] = DEFAULT_ORDERS, conversion: Conversion = 'improved'): { epsilon: number; order: number } {
  if (!(delta > 0 && delta < 1)) throw new RangeError('delta must be in (0, 1)');
  let best = Infinity;
  let order = NaN;
  orders.forEach((a, i) => {
    const r = rdp[i]!;
    let eps: number;
    if (conversion === 'classic') eps = r - Math.log(delta) / (a - 1);
    else if (delta * delta + Math.expm1(-r) >= 0) eps = 0; // the KL bound: delta <= sqrt(1 - exp(-rdp))
    else if (a > 1.01) eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1); // unstable as a -> 1
    else eps = Infinity;
    if (Number.isFinite(eps) && eps < best) {
      best = Math.max(0, eps);
      order = a;
    }
  });
  return { epsilon: best, order };
}

/** Epsilon of DP-SGD: n examples, batch size, noise multiplier, epochs (steps = ceil(epochs * n / batch)). */
export function dpSgdEpsilon(opts: { n: number; batchSize: number; noiseMultiplier: number; epochs: number; delta: number; orders?: readonly number[]; conversion?: Conversion; steps?: number }): { epsilon: number; order: number; steps: number; q: number } {
  const q = opts.batchSize / opts.n;
  const steps = opts.steps ?? Math.ceil((opts.epochs * opts.n) / opts.batchSize);
  const orders = opts.orders ?? DEFAULT_ORDERS;
  const e = epsilonFromRdp(computeRdp(q, opts.noiseMultiplier, steps, orders), opts.delta, orders, opts.conversion);
  return { ...e, steps, q };
}
