// Research commands: `tumorpredict dataset add|list|export-deid` (Ctrl-C cancels), `tumorpredict model
// install|list|activate|retire`, `tumorpredict run DATASET --model ID[,ID2...]` (progress bar,
// Ctrl-C cancels, --resume continues) and `tumorpredict compare RUN... [--reference RUN]` (the
// same comparison as the app).
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { WorkstationError, type DeidExportResult, type RunSummary } from '../../contract';
import { comparisonText, multiComparisonText, type Actor, type ResearchService } from '../../services/research';
import { createWorkstation, type Workstation } from '../../ipc/compose';
import { addCommonOptions, configFrom, type CommonOptions } from '../shared';
import { createProgress } from '../progress';
import { cliActor, ensureOpen } from './cli-admin';

/**
 * Like withWorkstation, but holds the event loop open while the workstation closes: the
 * inference pool's workers are unref'd, so after a run nothing else may keep the process alive
 * while close() waits for them to exit (Node would end with "unsettled top-level await", 13).
 */
async function withWorkstation<T>(opts: CommonOptions, fn: (ws: Workstation) => Promise<T>): Promise<T> {
  const ws = await createWorkstation(configFrom(opts));
  try {
    return await fn(ws);
  } finally {
    const keepAlive = setInterval(() => {}, 60_000);
    try {
      await ws.close();
    } finally {
      clearInterval(keepAlive);
    }
  }
}

function actor(): Actor {
  return { userId: null, username: cliActor().name };
}

function counts(c: Record<string, number>): string {
  return Object.entries(c)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function writeOut(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o600 });
}

/** Follows runs until none is queued or running, with one progress line per run; Ctrl-C cancels. */
async function follow(research: ResearchService, ids: string[]): Promise<RunSummary[]> {
  let cancelled = false;
  const onSigint = (): void => {
    if (cancelled) return;
    cancelled = true;
    process.stderr.write('\nCancelling (Ctrl-C); results so far are kept. Resume with --resume RUN_ID.\n');
    for (const id of ids) {
      try {
        research.cancelRun(id, actor());
      } catch {
        /* already finished */
      }
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const out: RunSummary[] = [];
    for (const id of ids) {
      const r0 = research.getRun(id);
      const progress = createProgress(`${r0.modelId} ${r0.modelVersion}`);
      const timer = setInterval(() => {
        const r = research.getRun(id);
        progress.update(r.done, r.total, r.failed);
      }, 200);
      const done = await research.waitForRun(id);
      clearInterval(timer);
      progress.update(done.done, done.total, done.failed);
      progress.finish();
      out.push(done);
    }
    return out;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

export function registerResearch(program: Command): void {
  const dataset = program.command('dataset').description('research data sets: register local folders or CSV files (researchers see de-identified data only)');
  addCommonOptions(dataset.command('add').description('register a folder (one sub-folder per class, or DICOM files) or a CSV of path,label[,mask]'))
    .argument('<path>', 'folder or CSV file')
    .option('--name <name>', 'a name for the data set')
    .option('--json', 'print JSON')
    .action(async (p: string, opts: CommonOptions & { name?: string; json?: boolean }) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const ds = await ws.services.research.registerDataset(p, opts.name, actor());
        if (opts.json) process.stdout.write(JSON.stringify({ ...ds, thumbnails: ds.thumbnails.length }) + '\n');
        else process.stdout.write(`Data set ${ds.id} (${ds.kind}): ${ds.items} items (${counts(ds.classCounts)})${ds.withMasks ? `, ${ds.withMasks} with masks` : ''}; sha256 ${ds.contentHash}\n`);
      });
    });
  addCommonOptions(dataset.command('list').description('list registered data sets'))
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const list = ws.services.research.listDatasets();
        if (opts.json) process.stdout.write(JSON.stringify(list) + '\n');
        else for (const d of list) process.stdout.write(`${d.id}\t${d.kind}\t${d.items} items\t${counts(d.classCounts)}\t${d.source}\n`);
      });
    });
  addCommonOptions(dataset.command('export-deid').description('write de-identified copies (PS3.15 basic profile) of a DICOM data set to a new or empty folder'))
    .argument('<dataset>', 'data set id')
    .argument('<out>', 'output folder (new or empty, outside the data folder)')
    .addOption(new Option('--dates <how>', 'dates and times: remove (basic profile), modified (shifted by a secret per-data-set offset), full (kept)').choices(['remove', 'modified', 'full']).default('modified'))
    .option('--clean-descriptors', 'Clean Descriptors option: descriptions keep their known-safe words instead of being removed')
    .action(async (id: string, out: string, opts: CommonOptions & { dates: 'remove' | 'modified' | 'full'; cleanDescriptors?: boolean }) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const dest = path.resolve(out);
        const progress = createProgress('de-identifying');
        // Ctrl-C stops after the file being written: every file in the folder is complete.
        const controller = new AbortController();
        const onSigint = (): void => {
          if (controller.signal.aborted) return;
          process.stderr.write('\nCancelling (Ctrl-C) after the current file; the files written so far are complete.\n');
          controller.abort();
        };
        process.on('SIGINT', onSigint);
        let r: DeidExportResult;
        try {
          r = await ws.services.research.exportDeidentified(id, dest, actor(), {
            signal: controller.signal,
            onProgress: (p) => progress.update(p.done, p.total, p.refused),
            deid: { temporal: opts.dates, cleanDescriptors: opts.cleanDescriptors === true },
          });
        } finally {
          process.removeListener('SIGINT', onSigint);
        }
        progress.finish();
        process.stdout.write(`Wrote ${r.written} de-identified file(s) to ${dest}${r.cancelled ? ` (cancelled; ${r.total - r.written - r.refused.length} not written)` : ''}: ${r.report.uidsReplaced} UIDs replaced, ${r.report.datesShifted} dates shifted, ${r.report.privateRemoved} private elements removed.\n`);
        for (const f of r.refused) process.stderr.write(`  withheld ${f.itemId}: ${f.reason}\n`);
        if (r.cancelled) process.exitCode = 130;
      });
    });

  const model = program.command('model').description('the model registry: install, list, activate for clinical use, retire');
  addCommonOptions(model.command('list').description('installed models with status and hash check'))
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const list = await ws.services.research.registry.list();
        if (opts.json) process.stdout.write(JSON.stringify(list) + '\n');
        else for (const m of list) process.stdout.write(`${m.id}\t${m.version}\t${m.status}\t${m.verified ? 'verified' : `REFUSED: ${m.problem ?? ''}`}\t${m.formats.join('+')}\n`);
      });
    });
  addCommonOptions(model.command('install').description('install a model folder (ONNX or TensorFlow.js + model-card.json) after checking every sha256'))
    .argument('<dir>', 'model folder')
    .action(async (dir: string, opts: CommonOptions) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const m = await ws.services.research.registry.install(dir, actor());
        process.stdout.write(`Installed ${m.id} ${m.version} (${m.formats.join(', ')}), verified, status ${m.status}.\n`);
      });
    });
  for (const verb of ['activate', 'retire'] as const) {
    addCommonOptions(model.command(verb).description(verb === 'activate' ? 'make a model the one clinical scoring uses (local admin)' : 'retire a model (kept for old results)'))
      .argument('<id>', 'model id')
      .action(async (id: string, opts: CommonOptions) => {
        await withWorkstation(opts, async (ws) => {
          await ensureOpen(ws);
          const m = await ws.services.research.registry[verb](id, actor());
          process.stdout.write(`${m.id} ${m.version} is now ${m.status}.\n`);
        });
      });
  }

  addCommonOptions(
    program
      .command('run')
      .description('score a registered data set with one or more models (one run each); research use only, not a medical device')
      .argument('[dataset]', 'data set id (from `dataset add` or `dataset list`)')
      .option('--model <ids>', 'model id(s), comma-separated, e.g. tumornet,tumornet-t1')
      .option('--resume <run>', 'resume an interrupted or cancelled run instead of starting one')
      .option('--batch <n>', 'images per inference batch')
      .option('--no-masks', 'do not compute mask Dice')
      .option('--json', 'print the finished runs as JSON'),
  ).action(async (datasetId: string | undefined, opts: CommonOptions & { model?: string; resume?: string; batch?: string; masks?: boolean; json?: boolean }) => {
    const batch = opts.batch === undefined ? undefined : Number(opts.batch);
    if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 256)) throw new WorkstationError('INVALID_INPUT', `--batch must be a whole number from 1 to 256 (got "${opts.batch}").`);
    if (!opts.resume && (!datasetId || !opts.model)) throw new WorkstationError('INVALID_INPUT', 'Give a data set and --model ID[,ID2], or --resume RUN_ID.');
    await withWorkstation(opts, async (ws) => {
      await ensureOpen(ws);
      const research = ws.services.research;
      let ids: string[];
      if (opts.resume) ids = [research.resumeRun(opts.resume, actor()).id];
      else {
        const models = opts.model!.split(',').map((s) => s.trim()).filter(Boolean);
        ids = (await research.startRuns(datasetId!, models, { batchSize: batch, masks: opts.masks }, actor())).map((r) => r.id);
      }
      // The ids first, so a run stopped by Ctrl-C, a crash or a kill can be resumed by id.
      for (const id of ids) {
        const r = research.getRun(id);
        process.stderr.write(`Run ${id}: ${r.modelId} ${r.modelVersion} on ${r.datasetName} (${r.total - r.done} to score)\n`);
      }
      const runs = await follow(research, ids);
      if (opts.json) process.stdout.write(JSON.stringify(runs) + '\n');
      for (const r of runs) {
        const m = await research.runMetrics(r.id);
        const acc = m?.accuracy === null || m?.accuracy === undefined ? 'n/a' : `${(100 * m.accuracy).toFixed(2)}%`;
        if (!opts.json) process.stdout.write(`Run ${r.id}: ${r.modelId} ${r.modelVersion} on ${r.runtime ?? '?'}: ${r.status}, ${r.done}/${r.total} scored (${r.failed} unreadable), accuracy ${acc}\n`);
        if (r.status === 'failed') process.stderr.write(`  ${r.error}\n`);
      }
      if (runs.some((r) => r.status === 'failed')) process.exitCode = 1;
      else if (runs.some((r) => r.status !== 'done')) process.exitCode = 130;
      else if (runs.length >= 2 && !opts.json) process.stdout.write(`Compare them with: tumorpredict compare ${runs.map((r) => r.id).join(' ')}\n`);
    });
  });

  addCommonOptions(
    program
      .command('compare')
      .description('compare two or more runs on the same data set against a reference run: metrics with intervals, McNemar tests, bootstrap AUC intervals, accuracy per source and sequence')
      .argument('<runs...>', 'two to eight run ids; the first is the reference unless --reference says otherwise')
      .option('--reference <run>', 'the run the others are tested against')
      .option('--csv <file>', 'also write the table and per-item predictions as CSV')
      .option('--html <file>', 'also write a self-contained HTML report with plots (two runs)')
      .option('--json', 'print the comparison as JSON'),
  ).action(async (ids: string[], opts: CommonOptions & { reference?: string; csv?: string; html?: string; json?: boolean }) => {
    if (ids.length < 2 || ids.length > 8) throw new WorkstationError('INVALID_INPUT', `Give two to eight run ids to compare (got ${ids.length}).`);
    if (opts.html && ids.length !== 2) throw new WorkstationError('INVALID_INPUT', '--html writes the report of two runs; give two run ids, or use --csv for more.');
    const reference = opts.reference ?? ids[0]!;
    if (!ids.includes(reference)) throw new WorkstationError('INVALID_INPUT', '--reference must be one of the compared runs.');
    await withWorkstation(opts, async (ws) => {
      await ensureOpen(ws);
      const research = ws.services.research;
      if (ids.length === 2 && !opts.reference) {
        // Two runs: the A/B table as before (B - A), and the HTML report.
        const [a, b] = ids as [string, string];
        const c = await research.compare(a, b);
        process.stdout.write((opts.json ? JSON.stringify(c) : comparisonText(c)) + '\n');
        if (opts.csv) {
          writeOut(opts.csv, (await research.exportCsv(a, b, actor())).csv);
          process.stderr.write(`CSV written to ${opts.csv}\n`);
        }
        if (opts.html) {
          writeOut(opts.html, (await research.exportHtml(a, b, actor())).html);
          process.stderr.write(`HTML report written to ${opts.html}\n`);
        }
        return;
      }
      const c = await research.compareMany(ids, reference);
      process.stdout.write((opts.json ? JSON.stringify(c) : multiComparisonText(c)) + '\n');
      if (opts.csv) {
        writeOut(opts.csv, (await research.exportManyCsv(ids, reference, actor())).csv);
        process.stderr.write(`CSV written to ${opts.csv}\n`);
      }
      if (opts.html) {
        const other = ids.find((x) => x !== reference)!;
        writeOut(opts.html, (await research.exportHtml(reference, other, actor())).html);
        process.stderr.write(`HTML report written to ${opts.html}\n`);
      }
    });
  });
}
