// The FP32 peak the bench assumes, from /proc/cpuinfo text: the 256-bit halving is for AMD CPUs
// with AVX-512 (Zen 4) only, not for every AMD CPU.
import { describe, expect, it } from 'vitest';
import { cpuPeakFrom } from './inference';

const cpuinfo = (model: string, flags: string): string => `processor\t: 0\nmodel name\t: ${model}\ncpu MHz\t\t: 2445.406\nflags\t\t: fpu sse sse2 ${flags}\n`;

describe('cpuPeakFrom', () => {
  it('halves the 512-bit rate on AMD Zen 4 (AVX-512 on 256-bit units)', () => {
    const p = cpuPeakFrom(cpuinfo('AMD EPYC 9B14 96-Core Processor', 'avx avx2 fma avx512f avx512_vnni'), 2);
    expect(p.flopsPerCycle).toBe(64);
    expect(p.halfRate512).toBe(true);
    expect(p.peakGflops).toBeCloseTo(2 * 2.445 * 64, 0);
    expect(p.how).toMatch(/Zen 4/);
    expect(p.int8Isa).toBe('avx512-vnni');
  });

  it('does not halve an AMD CPU without AVX-512 (Zen 2/3: 256-bit FMAs are its native width)', () => {
    const p = cpuPeakFrom(cpuinfo('AMD EPYC 7B13', 'avx avx2 fma sha_ni vaes'), 2);
    expect(p.flopsPerCycle).toBe(32);
    expect(p.avx512).toBe(false);
    expect(p.halfRate512).toBe(false);
    expect(p.how).not.toMatch(/Zen 4/);
    expect(p.how).toMatch(/no AVX-512/);
    expect(p.int8Isa).toBe('avx2');
  });

  it('does not halve an Intel CPU with AVX-512', () => {
    const p = cpuPeakFrom(cpuinfo('Intel(R) Xeon(R) Platinum 8488C', 'avx avx2 fma avx512f avx512_vnni amx_int8'), 2);
    expect(p.flopsPerCycle).toBe(64);
    expect(p.halfRate512).toBe(false);
    expect(p.how).not.toMatch(/Zen 4/);
  });
});
