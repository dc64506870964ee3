// Import throughput, next to a baseline in the same run (plain copy + sha256 of the same files,
// what any import must at least do), for two shapes: a 500-file MR series (made from the demo
// volume) and one 100 MB multi-frame MR file. Each is measured in alternating rounds (baseline,
// import into a fresh data folder, ...) and the best round of each is compared, so a burst of
// load from other processes on a shared machine costs one round, not the figure. Peak memory
// (RSS of the whole process: the import workers are threads) is sampled for both.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStore } from '../../services/store';
import { createDicomService, defaultDemoFolder } from '../../services/dicom';
import type { BenchSuite } from './types';

/** Clones one demo slice into `n` files of one series with unique UIDs (patched in place, same lengths). */
function makeSeries(dir: string, n: number): { files: string[]; bytes: number } {
  const src = fs.readdirSync(defaultDemoFolder()).find((f) => f.startsWith('t1-volume-'));
  if (!src) throw new Error('build/demo/study is missing: run node --import tsx build/demo/make-demo-study.ts');
  const base = fs.readFileSync(path.join(defaultDemoFolder(), src));
  const sop = base.toString('latin1').match(/2\.25\.\d{20,}/g) ?? [];
  const files: string[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    let s = base.toString('latin1');
    // Change the last digits of every UID: a new study/series for the run, a new SOP per file.
    for (const u of new Set(sop)) s = s.split(u).join(u.slice(0, -6) + String(i).padStart(6, '0'));
    const f = path.join(dir, `img-${String(i).padStart(4, '0')}.dcm`);
    fs.writeFileSync(f, Buffer.from(s, 'latin1'));
    files.push(f);
    bytes += base.length;
  }
  return { files, bytes };
}

function element(group: number, el: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(el, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}
const text = (s: string, pad = ' '): Buffer => Buffer.from(s.length % 2 ? s + pad : s, 'latin1');
const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };

/**
 * One multi-frame MR file of about `megabytes` MB: 512x512 16-bit frames (12 bits stored) of a
 * smooth pattern with noise, explicit VR little endian, written element by element.
 */
export function makeMultiFrame(file: string, megabytes: number, seed: number): number {
  const rows = 512;
  const cols = 512;
  const frames = Math.max(1, Math.round((megabytes * 1e6) / (rows * cols * 2)));
  const px = Buffer.allocUnsafe(rows * cols * 2 * frames);
  let r = seed >>> 0;
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
        const v = (2048 + 1500 * Math.sin((x + f) / 40) * Math.cos(y / 50) + (r >>> 26)) & 0xfff;
        px.writeUInt16LE(v, 2 * ((f * rows + y) * cols + x));
      }
    }
  }
  const uid = `2.25.${BigInt('0x' + crypto.randomBytes(15).toString('hex')).toString()}`;
  const sop = uid + '.1';
  const metaEls = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', text('1.2.840.10008.5.1.4.1.1.4.1', '\0')),
    element(0x0002, 0x0003, 'UI', text(sop, '\0')),
    element(0x0002, 0x0010, 'UI', text('1.2.840.10008.1.2.1', '\0')),
  ]);
  const gl = Buffer.alloc(4);
  gl.writeUInt32LE(metaEls.length);
  const body = Buffer.concat([
    element(0x0008, 0x0016, 'UI', text('1.2.840.10008.5.1.4.1.1.4.1', '\0')),
    element(0x0008, 0x0018, 'UI', text(sop, '\0')),
    element(0x0008, 0x0060, 'CS', text('MR')),
    element(0x0010, 0x0010, 'PN', text('BENCH^MULTIFRAME')),
    element(0x0010, 0x0020, 'LO', text('BENCH-1')),
    element(0x0020, 0x000d, 'UI', text(uid + '.2', '\0')),
    element(0x0020, 0x000e, 'UI', text(uid + '.3', '\0')),
    element(0x0028, 0x0002, 'US', u16(1)),
    element(0x0028, 0x0004, 'CS', text('MONOCHROME2')),
    element(0x0028, 0x0008, 'IS', text(String(frames))),
    element(0x0028, 0x0010, 'US', u16(rows)),
    element(0x0028, 0x0011, 'US', u16(cols)),
    element(0x0028, 0x0100, 'US', u16(16)),
    element(0x0028, 0x0101, 'US', u16(12)),
    element(0x0028, 0x0102, 'US', u16(11)),
    element(0x0028, 0x0103, 'US', u16(0)),
    element(0x7fe0, 0x0010, 'OW', px),
  ]);
  const out = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), element(0x0002, 0x0000, 'UL', gl), metaEls, body]);
  fs.writeFileSync(file, out);
  return out.length;
}

/** Peak RSS while `fn` runs (sampled every 10 ms), in MiB, and the RSS when it started. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peakMiB: number; startMiB: number }> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakMiB: Math.round(peak / 2 ** 20), startMiB: Math.round(start / 2 ** 20) };
  } finally {
    clearInterval(timer);
  }
}

/** What any import must at least do: read each file, hash it, write a copy. */
function copyAndHash(files: string[], dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  for (const f of files) {
    const b = fs.readFileSync(f);
    crypto.createHash('sha256').update(b).digest();
    fs.writeFileSync(path.join(dest, path.basename(f)), b);
  }
}

interface Round { baselineS: number; importS: number; baselinePeakMiB: number; importPeakMiB: number; startMiB: number }

async function measure(workDir: string, name: string, input: string, files: string[], expected: number, rounds: number): Promise<{ rounds: Round[]; reimportS: number }> {
  const out: Round[] = [];
  let reimportS = 0;
  for (let i = 0; i < rounds; i++) {
    const copyDir = path.join(workDir, `${name}-copy-${i}`);
    let t = performance.now();
    const base = await withPeakRss(async () => copyAndHash(files, copyDir));
    const baselineS = (performance.now() - t) / 1000;
    fs.rmSync(copyDir, { recursive: true, force: true });

    const data = path.join(workDir, `${name}-data-${i}`);
    const store = await createStore({ dataFolder: data, keySource: 'passphrase', passphrase: 'bench passphrase 1234567890' });
    const dicom = createDicomService({ db: () => store.db(), dataFolder: data });
    try {
      await dicom.warmUp(); // the workers start and warm their code, as the app has them do once the database is open: outside the timing
      t = performance.now();
      const imp = await withPeakRss(() => dicom.importPaths([input], { actor: 'bench' }));
      const importS = (performance.now() - t) / 1000;
      if (imp.value.imported !== expected) throw new Error(`bench import imported ${imp.value.imported} of ${expected}: ${JSON.stringify(imp.value.entries.find((e) => e.status === 'refused'))}`);
      if (i === rounds - 1) {
        t = performance.now();
        const again = await dicom.importPaths([input], { actor: 'bench' });
        reimportS = (performance.now() - t) / 1000;
        if (again.duplicates !== expected) throw new Error('the re-import was not a no-op');
      }
      out.push({ baselineS, importS, baselinePeakMiB: base.peakMiB, importPeakMiB: imp.peakMiB, startMiB: imp.startMiB });
    } finally {
      await dicom.close();
      store.close();
      fs.rmSync(data, { recursive: true, force: true });
    }
  }
  return { rounds: out, reimportS };
}

function summarise(files: number, mb: number, m: { rounds: Round[]; reimportS: number }) {
  const bestBase = Math.min(...m.rounds.map((r) => r.baselineS));
  const bestImport = Math.min(...m.rounds.map((r) => r.importS));
  const ratios = m.rounds.map((r) => r.importS / r.baselineS).sort((a, b) => a - b);
  const median = ratios.length % 2 ? ratios[(ratios.length - 1) / 2]! : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2;
  return {
    files,
    megabytes: +mb.toFixed(1),
    baselineCopySha256: { bestSeconds: +bestBase.toFixed(3), filesPerSecond: +(files / bestBase).toFixed(1), mbPerSecond: +(mb / bestBase).toFixed(1), peakRssMiB: Math.max(...m.rounds.map((r) => r.baselinePeakMiB)) },
    import: { bestSeconds: +bestImport.toFixed(3), filesPerSecond: +(files / bestImport).toFixed(1), mbPerSecond: +(mb / bestImport).toFixed(1), peakRssMiB: Math.max(...m.rounds.map((r) => r.importPeakMiB)), rssAtStartMiB: Math.min(...m.rounds.map((r) => r.startMiB)) },
    reimportNoop: { seconds: +m.reimportS.toFixed(3), filesPerSecond: +(files / m.reimportS).toFixed(1) },
    /** Best import over best baseline: the target is at most 3. */
    importVsBaseline: +(bestImport / bestBase).toFixed(2),
    perRoundRatios: ratios.map((r) => +r.toFixed(2)),
    /** The median of the per-round ratios (each import next to the baseline just before it): steadier than best/best under load bursts. */
    medianRoundRatio: +median.toFixed(2),
    rounds: m.rounds,
    targetAtMost3x: bestImport / bestBase <= 3,
  };
}

export const dicomBench: BenchSuite = {
  name: 'dicom-import',
  description: 'import (parse once, check, sha256, AES-GCM, fsync, index) of a 500-file MR series and one 100 MB multi-frame file vs copy + sha256',
  async run(ctx) {
    // More rounds for the series (seconds each) than for the 100 MB file: on a shared machine the
    // median of the per-round ratios needs several pairs.
    const rounds = ctx.quick ? 1 : 3;
    const seriesRounds = ctx.quick ? 1 : 7;
    const loadAtStart = os.loadavg();
    const n = ctx.quick ? 100 : 500;
    const seriesIn = path.join(ctx.workDir, 'series');
    fs.mkdirSync(seriesIn);
    const series = makeSeries(seriesIn, n);
    const s = summarise(n, series.bytes / 1e6, await measure(ctx.workDir, 'series', seriesIn, series.files, n, seriesRounds));
    const line = (label: string, r: ReturnType<typeof summarise>): void => {
      ctx.log(`${label}: baseline copy+sha256 ${r.baselineCopySha256.filesPerSecond} files/s, ${r.baselineCopySha256.mbPerSecond} MB/s (peak RSS ${r.baselineCopySha256.peakRssMiB} MiB)`);
      ctx.log(`${label}: import ${r.import.filesPerSecond} files/s, ${r.import.mbPerSecond} MB/s, ${r.importVsBaseline}x the baseline's time best/best, median of rounds ${r.medianRoundRatio}x (rounds: ${r.perRoundRatios.join(', ')}), peak RSS ${r.import.peakRssMiB} MiB (${r.import.rssAtStartMiB} MiB at start)`);
      ctx.log(`${label}: re-import (no-op) ${r.reimportNoop.filesPerSecond} files/s`);
    };
    line(`series (${n} files)`, s);

    const mfMb = ctx.quick ? 20 : 100;
    const mfIn = path.join(ctx.workDir, 'multiframe');
    fs.mkdirSync(mfIn);
    const mfFile = path.join(mfIn, 'multiframe.dcm');
    const mfBytes = makeMultiFrame(mfFile, mfMb, 7);
    const mf = summarise(1, mfBytes / 1e6, await measure(ctx.workDir, 'multiframe', mfIn, [mfFile], 1, rounds));
    line(`multi-frame (${(mfBytes / 1e6).toFixed(0)} MB)`, mf);
    return {
      series: s,
      multiFrame: mf,
      loadAverageAtStart: loadAtStart,
      loadAverage: os.loadavg(),
      note: 'Alternating rounds (baseline, import into a fresh data folder): best/best and the median of the per-round ratios. The import includes the fsync of every blob (a group fsync per batch before its index commit) and of each folder that received one, and the index commits; the baseline does not fsync. The shard folders of a data folder are made when the import workers start (once per data folder), outside the timing. Peak RSS is the whole process (workers are threads), sampled every 10 ms.',
    };
  },
};
