// Import throughput of a 500-file MR series (made from the demo volume in the bench's temp dir):
// files/s and MB/s through parse + decode + encrypt + index, next to a baseline in the same run
// (plain copy + sha256 of the same files), so the ratio is the cost of the import itself.
import crypto from 'node:crypto';
import fs from 'node:fs';
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

export const dicomBench: BenchSuite = {
  name: 'dicom-import',
  description: 'import of a 500-file MR series (parse + decode + AES-GCM + index) vs copy + sha256',
  async run(ctx) {
    const n = ctx.quick ? 100 : 500;
    const input = path.join(ctx.workDir, 'in');
    fs.mkdirSync(input);
    const { files, bytes } = makeSeries(input, n);
    const mb = bytes / 1e6;

    // Baseline: copy each file and hash it (what any import must at least do).
    const copyDir = path.join(ctx.workDir, 'copy');
    fs.mkdirSync(copyDir);
    let t = performance.now();
    for (const f of files) {
      const b = fs.readFileSync(f);
      crypto.createHash('sha256').update(b).digest();
      fs.writeFileSync(path.join(copyDir, path.basename(f)), b);
    }
    const baseS = (performance.now() - t) / 1000;

    const data = path.join(ctx.workDir, 'data');
    const store = await createStore({ dataFolder: data, keySource: 'passphrase', passphrase: 'bench passphrase 1234567890' });
    const dicom = createDicomService({ db: () => store.db(), dataFolder: data });
    try {
      await dicom.importBuffers([], { actor: 'bench' }); // start the workers outside the timing
      t = performance.now();
      const r = await dicom.importPaths([input], { actor: 'bench' });
      const importS = (performance.now() - t) / 1000;
      if (r.imported !== n) throw new Error(`bench import imported ${r.imported} of ${n}`);
      t = performance.now();
      const again = await dicom.importPaths([input], { actor: 'bench' });
      const reS = (performance.now() - t) / 1000;
      const out = {
        files: n,
        megabytes: +mb.toFixed(2),
        baselineCopySha256: { seconds: +baseS.toFixed(3), filesPerSecond: +(n / baseS).toFixed(1), mbPerSecond: +(mb / baseS).toFixed(1) },
        import: { seconds: +importS.toFixed(3), filesPerSecond: +(n / importS).toFixed(1), mbPerSecond: +(mb / importS).toFixed(1) },
        reimportNoop: { seconds: +reS.toFixed(3), filesPerSecond: +(n / reS).toFixed(1), duplicates: again.duplicates },
        importVsBaseline: +(importS / baseS).toFixed(1),
      };
      ctx.log(`baseline copy+sha256: ${out.baselineCopySha256.filesPerSecond} files/s, ${out.baselineCopySha256.mbPerSecond} MB/s`);
      ctx.log(`import:               ${out.import.filesPerSecond} files/s, ${out.import.mbPerSecond} MB/s (${out.importVsBaseline}x the baseline's time)`);
      ctx.log(`re-import (no-op):    ${out.reimportNoop.filesPerSecond} files/s`);
      return out;
    } finally {
      await dicom.close();
      store.close();
    }
  },
};
