// `tumorpredict federation ...`: a site's commands (site create|show, enrol, train with a progress
// bar and Ctrl-C, upload, export, pull, evaluate), the coordinator's (setup, register-site, serve,
// round open|aggregate|approve|reject|rollback|show, import, status) and `simulate`, which runs a
// whole federation on this machine against centralised training.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AGGREGATION_RULE_NAMES, WorkstationError, type RoundSummary, type TrainingProgress } from '../../contract';
import { appRoot } from '../../services/config';
import { SOURCE_NAMES, type SourceName } from '../../services/federated';
import { createWorkstation, type Workstation } from '../../ipc/compose';
import { addCommonOptions, configFrom, type CommonOptions } from '../shared';
import { createProgress } from '../progress';
import { simulate } from '../federation/simulate';
import { cliActor, ensureOpen } from './cli-admin';

const actor = () => ({ userId: null, username: cliActor().name });
const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new WorkstationError('INVALID_INPUT', `"${v}" is not a number.`);
  return n;
};

/** Opens the workstation; holds the event loop while it closes (the inference workers are unref'd). */
async function withWs<T>(opts: CommonOptions, fn: (ws: Workstation) => Promise<T>): Promise<T> {
  const ws = await createWorkstation(configFrom(opts));
  try {
    await ensureOpen(ws);
    return await fn(ws);
  } finally {
    const keep = setInterval(() => {}, 60_000);
    try {
      await ws.close();
    } finally {
      clearInterval(keep);
    }
  }
}

const out = (opts: { json?: boolean }, value: unknown, text: string): void => {
  process.stdout.write(opts.json ? JSON.stringify(value) + '\n' : text + '\n');
};

function roundLine(r: RoundSummary): string {
  const gate = r.gate ? `gate ${r.gate.passed ? 'passed' : 'FAILED'}: ${(((r.gate.candidate.accuracy ?? 0) as number) * 100).toFixed(1)}% against ${(((r.gate.current.accuracy ?? 0) as number) * 100).toFixed(1)}%` : 'not gated yet';
  const lines = [`Round ${r.round}: ${r.state}, parent ${r.parent.modelId} ${r.parent.version}, rule ${r.settings.rule}, ${r.accepted} accepted, ${r.refused} refused; ${gate}${r.model ? `; model ${r.model.id} ${r.model.version}` : ''}`];
  for (const s of r.sites) lines.push(`  ${s.site}: ${s.samples} images, ${s.status}${s.share !== null ? `, share ${(s.share * 100).toFixed(0)}%` : ''}`);
  for (const o of r.outvoted) lines.push(`  outvoted ${o.site}: ${o.reason}`);
  for (const c of r.gate?.checks ?? []) lines.push(`  ${c.passed ? 'pass' : 'FAIL'} ${c.name}: ${c.detail}`);
  return lines.join('\n');
}

export function registerFederation(program: Command): void {
  const fed = program.command('federation').description('federated learning: train the head here and send signed updates, or coordinate rounds (not a medical device)');

  addCommonOptions(fed.command('status').description("this workstation's site identity, the rounds it coordinates, sites with sample counts and epsilon, refused packages"))
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      await withWs(opts, async (ws) => {
        const o = await ws.services.federation.overview();
        const lines: string[] = [];
        if (o.site) lines.push(`Site ${o.site.siteId} (key ${o.site.keyFingerprint.slice(0, 16)}…, secrets in ${o.site.secretsIn})${o.site.coordinatorUrl ? `, enrolled with ${o.site.coordinatorUrl}` : ', not enrolled'}${o.site.epsilon !== null ? `, epsilon ${o.site.epsilon.toFixed(3)} at delta ${o.site.delta}` : ''}`);
        if (o.coordinator) lines.push(`Coordinator: global ${o.coordinator.global.modelId} ${o.coordinator.global.version} (round ${o.coordinator.global.round}); reference set ${o.coordinator.referenceDataset} (${o.coordinator.referenceItems} images); ${o.coordinator.publicUrl ?? 'no address'}`);
        for (const s of o.sites) lines.push(`  site ${s.site} (${s.status}): ${s.samples ?? '-'} images last round${s.epsilon !== null ? `, epsilon ${s.epsilon.toFixed(3)}` : ''}`);
        for (const r of o.rounds) lines.push(roundLine(r));
        for (const p of o.packages.filter((x) => x.status === 'refused')) lines.push(`  refused ${p.id.slice(0, 8)} from ${p.site ?? '?'} (round ${p.round ?? '?'}): ${p.reason}`);
        for (const p of o.outbox) lines.push(`  package ${p.id} round ${p.round}: ${p.status}${p.detail ? ` (${p.detail})` : ''}, ${p.samples} images`);
        out(opts, o, lines.join('\n') || 'This workstation takes no part in a federation yet.');
      });
    });

  // --- site -------------------------------------------------------------------------------
  const site = fed.command('site').description("this workstation's site identity");
  addCommonOptions(site.command('create').description('make this workstation a site: a site id and an Ed25519 key pair (the private key in the keychain)'))
    .argument('<site-id>', 'lower-case letters, digits and dashes')
    .action(async (siteId: string, opts: CommonOptions) => {
      await withWs(opts, async (ws) => {
        const me = await ws.services.federation.site.createIdentity(siteId, actor());
        process.stdout.write(`Site ${me.site_id}; public key (give it to the coordinating site's admin): ${me.public_key}\n`);
      });
    });
  addCommonOptions(site.command('show').description("this site's id and public key")).action(async (opts: CommonOptions) => {
    await withWs(opts, async (ws) => {
      const me = ws.services.federation.site.requireIdentity();
      process.stdout.write(`${me.site_id}\t${me.public_key}\t${me.coordinator_url ?? 'not enrolled'}\n`);
    });
  });
  addCommonOptions(fed.command('enrol').description("enrol this site with a coordinator: the enrolment file its admin gave ('-' reads standard input)"))
    .argument('<file>', 'enrolment file')
    .action(async (file: string, opts: CommonOptions) => {
      const text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
      await withWs(opts, async (ws) => {
        const me = await ws.services.federation.site.enrol(text, actor());
        process.stdout.write(`Site ${me.site_id} enrolled with ${me.coordinator_url}\n`);
      });
    });
  addCommonOptions(fed.command('train').description("train the global head on a local data set and build a signed update package (Ctrl-C cancels)"))
    .argument('<dataset>', 'data set id (tumorpredict dataset list)')
    .option('--round <n>', 'round (only when not enrolled: packages handed over as files)', num)
    .option('--epochs <n>', 'local epochs', num)
    .option('--lr <x>', 'learning rate', num)
    .option('--optimizer <name>', 'adam or sgd')
    .option('--fedprox <mu>', 'FedProx proximal term', num)
    .option('--dp-noise <sigma>', 'DP-SGD noise multiplier (turns DP on)', num)
    .option('--clip <c>', 'DP-SGD clipping norm (default 1)', num)
    .option('--delta <d>', 'DP delta (default 1e-5)', num)
    .option('--upload', 'upload the package to the coordinator when done')
    .option('--json', 'print JSON')
    .action(async (dataset: string, opts: CommonOptions & { round?: number; epochs?: number; lr?: number; optimizer?: string; fedprox?: number; dpNoise?: number; clip?: number; delta?: number; upload?: boolean; json?: boolean }) => {
      await withWs(opts, async (ws) => {
        const bars = new Map<string, ReturnType<typeof createProgress>>();
        let job: string | null = null;
        const onSigint = (): void => {
          process.stderr.write('\nCancelling (Ctrl-C); no package is made.\n');
          if (job) ws.services.federation.cancelTraining(job);
        };
        process.on('SIGINT', onSigint);
        try {
          let pkg = await ws.services.federation.train(
            {
              datasetId: dataset,
              round: opts.round,
              settings: {
                ...(opts.epochs ? { epochs: opts.epochs } : {}),
                ...(opts.lr ? { learningRate: opts.lr } : {}),
                ...(opts.optimizer === 'sgd' || opts.optimizer === 'adam' ? { optimizer: opts.optimizer } : {}),
                ...(opts.fedprox !== undefined ? { fedproxMu: opts.fedprox } : {}),
                ...(opts.dpNoise ? { dp: { noiseMultiplier: opts.dpNoise, clipNorm: opts.clip ?? 1, delta: opts.delta ?? 1e-5 } } : {}),
              },
            },
            actor(),
            (p: TrainingProgress) => {
              job = p.jobId;
              if (p.phase !== 'features' && p.phase !== 'training') return;
              let bar = bars.get(p.phase);
              if (!bar) {
                bar = createProgress(p.phase === 'features' ? 'features' : 'training');
                bars.set(p.phase, bar);
                if (p.phase === 'training') bars.get('features')?.finish();
              }
              bar.update(p.done, p.total);
            },
          );
          bars.get('training')?.finish();
          if (opts.upload) pkg = await ws.services.federation.site.upload(pkg.id, actor());
          out(opts, pkg, `Package ${pkg.id} for round ${pkg.round}: ${pkg.samples} images, held-out accuracy ${(pkg.before.accuracy * 100).toFixed(1)}% -> ${(pkg.after.accuracy * 100).toFixed(1)}%${pkg.epsilonRound !== null ? `, epsilon ${pkg.epsilonRound.toFixed(3)} this round (${pkg.epsilonTotal!.toFixed(3)} in all)` : ''}; ${pkg.status}${pkg.detail ? `: ${pkg.detail}` : ''}`);
          if (pkg.status === 'refused') process.exitCode = 1;
        } finally {
          process.removeListener('SIGINT', onSigint);
        }
      });
    });
  addCommonOptions(fed.command('upload').description('upload a built package to the coordinator'))
    .argument('<package>', 'package id')
    .action(async (id: string, opts: CommonOptions) => {
      await withWs(opts, async (ws) => {
        const p = await ws.services.federation.site.upload(id, actor());
        process.stdout.write(`${p.status}${p.detail ? `: ${p.detail}` : ''}\n`);
        if (p.status !== 'accepted') process.exitCode = 1;
      });
    });
  addCommonOptions(fed.command('export').description('write a package to a file to hand over'))
    .argument('<package>', 'package id')
    .argument('<file>', 'output .zip')
    .action(async (id: string, file: string, opts: CommonOptions) => {
      await withWs(opts, async (ws) => {
        const e = ws.services.federation.site.exportPackage(id, actor());
        fs.writeFileSync(file, e.bytes, { mode: 0o600 });
        process.stdout.write(`Wrote ${file} (${e.bytes.length} bytes, sha256 ${e.sha256})\n`);
      });
    });
  addCommonOptions(fed.command('pull').description("download the global model, rebuild it here from its parent, check every hash and install it")).action(async (opts: CommonOptions) => {
    await withWs(opts, async (ws) => {
      const r = await ws.services.federation.site.pullGlobal(actor());
      process.stdout.write(`${r.installed ? 'Installed' : 'Already have'} ${r.modelId}\n`);
    });
  });
  addCommonOptions(fed.command('evaluate').description("score the round's candidate on this site's held-out images and send the confusion matrices")).action(async (opts: CommonOptions) => {
    await withWs(opts, async (ws) => {
      const r = await ws.services.federation.site.evaluateCandidate(actor());
      process.stdout.write(`Round ${r.round}: ${r.n} images, current ${((r.current ?? 0) * 100).toFixed(1)}%, candidate ${((r.candidate ?? 0) * 100).toFixed(1)}%\n`);
    });
  });

  // --- coordinator ------------------------------------------------------------------------
  addCommonOptions(fed.command('setup').description('coordinate a federation: the reference data set of the gate, the address sites use, the HTTPS certificate'))
    .requiredOption('--reference <dataset>', 'data set id of the reference set (never trained on)')
    .option('--url <https-url>', 'address sites reach this coordinator at, e.g. https://coordinator.example.org:8443')
    .option('--model <id>', 'the global model to start from (default: the active model)')
    .action(async (opts: CommonOptions & { reference: string; url?: string; model?: string }) => {
      await withWs(opts, async (ws) => {
        await ws.services.federation.coordinator.setup({ referenceDatasetId: opts.reference, publicUrl: opts.url, globalModelId: opts.model }, actor());
        const o = await ws.services.federation.overview();
        process.stdout.write(`Coordinating from ${o.coordinator!.global.modelId} ${o.coordinator!.global.version}; reference set ${o.coordinator!.referenceDataset} (${o.coordinator!.referenceItems} images); certificate sha256 ${o.coordinator!.certificateFingerprint}\n`);
      });
    });
  addCommonOptions(fed.command('register-site').description("register a site's public key; prints its enrolment (with its token: shown once)"))
    .argument('<site-id>', 'the site id')
    .requiredOption('--public-key <base64>', "the site's public key (tumorpredict federation site show, at the site)")
    .option('--name <name>', 'a name for the site')
    .option('--out <file>', 'write the enrolment to this file (mode 600) instead of standard output')
    .action(async (siteId: string, opts: CommonOptions & { publicKey: string; name?: string; out?: string }) => {
      await withWs(opts, async (ws) => {
        const r = ws.services.federation.coordinator.registerSite({ siteId, name: opts.name ?? siteId, publicKey: opts.publicKey }, actor());
        if (opts.out) {
          fs.writeFileSync(opts.out, r.enrolment + '\n', { mode: 0o600 });
          process.stdout.write(`Enrolment for ${siteId} written to ${opts.out}; hand it over securely (it holds the site's token).\n`);
        } else process.stdout.write(r.enrolment + '\n');
      });
    });
  addCommonOptions(fed.command('serve').description("the coordinator's HTTPS service for sites (token per site, the setup's certificate); rounds close on quorum or deadline"))
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (default: the one in the setup address, else a free one)', num)
    .action(async (opts: CommonOptions & { host: string; port?: number }) => {
      const ws = await createWorkstation(configFrom(opts, 'cli'));
      await ensureOpen(ws);
      const c = ws.services.federation.coordinator.requireSetup();
      const port = opts.port ?? (c.public_url ? Number(new URL(c.public_url).port || 443) : 0);
      const s = await ws.services.federation.serve({ host: opts.host, port });
      process.stdout.write(`${s.url}\n`);
      const stop = async (): Promise<void> => {
        await s.close();
        await ws.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
  addCommonOptions(fed.command('import').description('receive a package handed over as a file (verified like one sent over HTTPS)'))
    .argument('<file>', 'package .zip')
    .action(async (file: string, opts: CommonOptions) => {
      await withWs(opts, async (ws) => {
        const p = await ws.services.federation.importPackage(fs.readFileSync(file), actor());
        process.stdout.write(`${p.status}${p.reason ? `: ${p.reason}` : ''}\n`);
        if (p.status === 'refused') process.exitCode = 1;
      });
    });
  const round = fed.command('round').description("the coordinator's rounds");
  addCommonOptions(round.command('open').description('open a round on the current global model'))
    .option('--rule <rule>', `aggregation: ${AGGREGATION_RULE_NAMES.join(', ')}`, 'fedavg')
    .option('--quorum <n>', 'accepted packages at which the round aggregates on its own', num)
    .option('--deadline-minutes <n>', 'close with what arrived after this many minutes', num)
    .option('--site-evaluation', 'sites score the candidate on their own images before the gate')
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { rule: string; quorum?: number; deadlineMinutes?: number; siteEvaluation?: boolean; json?: boolean }) => {
      if (!(AGGREGATION_RULE_NAMES as readonly string[]).includes(opts.rule)) throw new WorkstationError('INVALID_INPUT', `--rule is one of ${AGGREGATION_RULE_NAMES.join(', ')}.`);
      await withWs(opts, async (ws) => {
        const f = ws.services.federation;
        const r = f.roundDto(await f.coordinator.openRound({ rule: opts.rule as (typeof AGGREGATION_RULE_NAMES)[number], ...(opts.quorum ? { quorum: opts.quorum } : {}), ...(opts.deadlineMinutes ? { deadlineMinutes: opts.deadlineMinutes } : {}), ...(opts.siteEvaluation ? { siteEvaluation: true } : {}) }, actor()));
        out(opts, r, roundLine(r));
      });
    });
  const roundAction = (name: string, description: string, fn: (ws: Workstation, n: number, opts: { activate?: boolean; reason?: string }) => Promise<RoundSummary>) => {
    const cmd = addCommonOptions(round.command(name).description(description)).argument('<round>', 'round number', num).option('--json', 'print JSON');
    if (name === 'approve') cmd.option('--activate', 'also make the new version the clinical model');
    if (name === 'reject') cmd.requiredOption('--reason <text>', 'why');
    cmd.action(async (n: number, opts: CommonOptions & { json?: boolean; activate?: boolean; reason?: string }) => {
      await withWs(opts, async (ws) => {
        const r = await fn(ws, n, opts);
        out(opts, r, roundLine(r));
        if (name === 'aggregate' && r.state === 'gate-failed') process.exitCode = 1;
      });
    });
  };
  roundAction('show', 'a round with its sites, outvoted updates and gate checks', async (ws, n) => ws.services.federation.roundSummary(n));
  roundAction('aggregate', 'close the round, merge its accepted packages and run the validation gate', async (ws, n) => ws.services.federation.roundDto(await ws.services.federation.rounds.aggregate(n, actor())));
  roundAction('approve', 'approve a candidate that passed the gate: a new registry version, the global model', async (ws, n, o) => ws.services.federation.roundDto(await ws.services.federation.rounds.approve(n, { activate: o.activate }, actor())));
  roundAction('reject', "reject a round's candidate", async (ws, n, o) => ws.services.federation.roundDto(ws.services.federation.rounds.reject(n, o.reason!, actor())));
  roundAction('rollback', 'roll an approved round back to its parent (the clinical model too, if it was this one)', async (ws, n) => ws.services.federation.roundDto(await ws.services.federation.rounds.rollback(n, actor())));

  // --- simulation -------------------------------------------------------------------------
  fed
    .command('simulate')
    .description('N sites and a coordinator on this machine over the shared data split non-IID; per-round global accuracy against centralised head training')
    .requiredOption('--sites <n>', 'number of sites', num)
    .requiredOption('--rounds <n>', 'number of rounds', num)
    .option('--rule <rule>', `aggregation: ${AGGREGATION_RULE_NAMES.join(', ')}`, 'fedavg')
    .option('--alpha <x>', 'Dirichlet concentration of the split (small = very non-IID)', num, 0.5)
    .option('--seed <n>', 'seed of the split and the training', num, 1)
    .option('--datasets <dir>', 'the shared data sets', path.resolve(appRoot(), '../shared/datasets'))
    .option('--models <dir>', 'models folder holding the global model (default: $TUMORPREDICT_MODELS or native-models)')
    .option('--model <id>', 'the global model to start from', 'tumornet')
    .option('--site-data <which>', "'unseen': images the model's weights never trained on (default); 'all': its training images too", 'unseen')
    .option('--sources <list>', `sources the sites hold (${SOURCE_NAMES.join(', ')}); the reference set keeps them all`)
    .option('--epochs <n>', 'local epochs per round', num, 5)
    .option('--lr <x>', 'learning rate', num, 0.003)
    .option('--fedprox <mu>', 'FedProx proximal term', num, 0)
    .option('--dp-noise <sigma>', 'every site trains with DP-SGD at this noise multiplier')
    .option('--overall-margin <x>', "the gate's overall margin for these rounds (default 0.01; 1 turns the check off)", num)
    .option('--class-margin <x>', "the gate's per-class margin for these rounds (default 0.03; 1 turns the check off)", num)
    .option('--gate-off', 'the gate reports but approves every candidate (to follow the plain FedAvg trajectory)')
    .option('--limit <n>', 'at most this many images per site and in the reference set (a seeded subsample, for quick runs; default: all)', num)
    .option('--work <dir>', 'keep the site and coordinator data folders here (default: a temporary folder, removed)')
    .option('--json <file>', 'write the report as JSON')
    .action(async (opts: { sites: number; rounds: number; rule: string; alpha: number; seed: number; datasets: string; models?: string; model: string; siteData: string; sources?: string; epochs: number; lr: number; fedprox: number; dpNoise?: string; overallMargin?: number; classMargin?: number; gateOff?: boolean; limit?: number; work?: string; json?: string }) => {
      if (!(AGGREGATION_RULE_NAMES as readonly string[]).includes(opts.rule)) throw new WorkstationError('INVALID_INPUT', `--rule is one of ${AGGREGATION_RULE_NAMES.join(', ')}.`);
      if (!Number.isInteger(opts.sites) || opts.sites < 1 || opts.sites > 32) throw new WorkstationError('INVALID_INPUT', '--sites is 1 to 32.');
      if (!Number.isInteger(opts.rounds) || opts.rounds < 1 || opts.rounds > 100) throw new WorkstationError('INVALID_INPUT', '--rounds is 1 to 100.');
      if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) throw new WorkstationError('INVALID_INPUT', '--limit is a whole number of images, 1 or more.');
      const sources = opts.sources ? opts.sources.split(',').map((s) => s.trim()) : null;
      if (sources?.some((s) => !(SOURCE_NAMES as readonly string[]).includes(s))) throw new WorkstationError('INVALID_INPUT', `--sources takes ${SOURCE_NAMES.join(', ')}.`);
      const modelsFolder = opts.models ? path.resolve(opts.models) : configFrom({}).modelsFolder;
      const report = await simulate({
        sites: opts.sites,
        rounds: opts.rounds,
        rule: opts.rule as (typeof AGGREGATION_RULE_NAMES)[number],
        alpha: opts.alpha,
        seed: opts.seed,
        datasets: path.resolve(opts.datasets),
        splits: path.join(appRoot(), 'native-models', 'training', 'splits'),
        modelsFolder,
        modelId: opts.model,
        work: opts.work ? path.resolve(opts.work) : null,
        keep: false,
        siteData: opts.siteData === 'all' ? 'all' : 'unseen',
        sources: sources as SourceName[] | null,
        epochs: opts.epochs,
        learningRate: opts.lr,
        fedproxMu: opts.fedprox,
        dpNoise: opts.dpNoise ? num(opts.dpNoise) : null,
        limit: opts.limit ?? null,
        gate: { overallMargin: opts.overallMargin ?? null, classMargin: opts.classMargin ?? null, off: !!opts.gateOff },
        log: (l) => process.stderr.write(l + '\n'),
      });
      if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(report, null, 1));
      const pct = (v: number | null): string => (v === null ? '   n/a' : `${(v * 100).toFixed(2).padStart(6)}`);
      const src = SOURCE_NAMES.filter((s) => report.reference.bySource[s]);
      const lines = [
        `Reference set: ${report.reference.n} images (${src.map((s) => `${s} ${report.reference.bySource[s]}`).join(', ')}); sites: ${report.sites.map((s) => `${s.site} ${s.images}`).join(', ')}`,
        `round  state         candidate  global  ${src.map((s) => s.padStart(9)).join(' ')}`,
        `    0  parent                   ${pct(report.parent.accuracy)}  ${src.map((s) => pct(report.parent.bySource[s] ?? null).padStart(9)).join(' ')}`,
        ...report.rounds.map((r) => `${String(r.round).padStart(5)}  ${r.state.padEnd(12)}  ${pct(r.candidate).padStart(9)}  ${pct(r.global)}  ${src.map((s) => pct(r.bySource[s] ?? null).padStart(9)).join(' ')}`),
        `centralised (pooled, ${report.centralised.epochs} epochs)  ${pct(report.centralised.accuracy)}  ${src.map((s) => pct(report.centralised.bySource[s] ?? null).padStart(9)).join(' ')}`,
        `Federated minus centralised: ${report.gapPoints.toFixed(2)} points. ${(report.totalMs / 1000).toFixed(0)} s in all.`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
