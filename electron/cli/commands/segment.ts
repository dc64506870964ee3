// `tumorpredict segment DIR --out OUTDIR`: writes the tumor mask of every image under DIR as a
// PNG of the input's own size (0 background, 255 tumor) at the same relative path in OUTDIR.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { WorkstationError } from '../../contract';
import { encodeMaskPng } from '../../services/inference';
import { addCommonOptions, withWorkstation } from '../shared';
import { listImageFolder } from '../image-folder';
import { checkRuntime, parseBatch, printSkipped, scoreEntries, type ScanOptions } from './score';

/** OUTDIR/<relative path with its extension replaced by .png>, kept inside OUTDIR. */
export function maskPathFor(outDir: string, rel: string): string {
  const parsed = path.posix.parse(rel);
  return path.join(outDir, ...path.posix.join(parsed.dir, parsed.name + '.png').split('/'));
}

export function registerSegment(program: Command): void {
  addCommonOptions(
    program
      .command('segment')
      .description('write a tumor mask PNG (0/255, the input image\'s size) for every image under DIR; not a medical device')
      .argument('<dir>', 'folder of PNG/JPEG images')
      .requiredOption('--out <outdir>', 'folder for the mask PNGs (same relative paths)')
      .option('--model <id>', 'model id (default: the installed default model)')
      .option('--batch <n>', 'images per inference batch'),
  ).action(async (dir: string, opts: ScanOptions & { out: string }) => {
    checkRuntime(opts.runtime);
    const batchSize = parseBatch(opts.batch);
    const entries = listImageFolder(dir);
    if (entries.length === 0) throw new WorkstationError('NOT_FOUND', `There are no files to segment in ${dir}.`);
    const outDir = path.resolve(opts.out);
    if (outDir === path.resolve(dir) || outDir.startsWith(path.resolve(dir) + path.sep)) {
      throw new WorkstationError('INVALID_INPUT', 'The output folder must not be inside the input folder (its masks would be scored next time).');
    }
    // Two inputs that differ only by extension (a.jpg, a.png) would share a mask name.
    const taken = new Map<string, string>();
    for (const e of entries) {
      const p = maskPathFor(outDir, e.rel);
      if (taken.has(p)) throw new WorkstationError('CONFLICT', `${e.rel} and ${taken.get(p)} would both write ${path.relative(outDir, p)}; rename one of them.`);
      taken.set(p, e.rel);
    }
    await withWorkstation(opts, async (ws) => {
      let written = 0;
      let writeFailures = 0;
      const { outcomes, cancelled } = await scoreEntries(ws.services.inference, entries, { modelId: opts.model, batchSize, wantMask: true, label: 'Segmenting' }, (entry, o) => {
        if (!o.ok || !o.mask) return;
        const file = maskPathFor(outDir, entry.rel);
        try {
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, encodeMaskPng(o.mask, o.result.width, o.result.height));
          written++;
        } catch (err) {
          writeFailures++;
          process.stderr.write(`Could not write ${file}: ${(err as Error).message}\n`);
        }
      });
      const skipped = printSkipped(outcomes.values());
      process.stdout.write(`Wrote ${written} mask(s) to ${outDir}${skipped ? `, skipped ${skipped} unreadable file(s)` : ''}. Research use only: not a medical device.\n`);
      if (writeFailures) process.exitCode = 1;
      if (cancelled) {
        process.stderr.write(`Cancelled: ${outcomes.size} of ${entries.length} files were processed.\n`);
        process.exitCode = 130;
      }
    });
  });
}
