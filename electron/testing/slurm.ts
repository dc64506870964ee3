// A real single-node Slurm cluster for the tests: munged with a freshly generated key, slurmctld
// and slurmd on 127.0.0.1 with free ports, configuration and state in a temporary folder. Started
// and stopped by the test itself; SLURM_CONF in `env` points the client commands at it.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface SlurmCluster {
  dir: string;
  conf: string;
  partition: string;
  /** The environment for client commands and for the CLI under test. */
  env: NodeJS.ProcessEnv;
  /** The slurmctld and slurmd logs, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

const NEEDED = ['mungekey', 'munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'];

function which(cmd: string): string | null {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(d, cmd);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, check: () => boolean, ms: number, logs: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up within ${ms / 1000} s.\n${logs()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startSlurm(): Promise<SlurmCluster> {
  const missing = NEEDED.filter((c) => !which(c));
  if (missing.length) throw new Error(`The Slurm test needs ${missing.join(', ')}: apt-get install slurm-wlm munge (listed in scripts/system-deps.txt).`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-slurm-'));
  fs.chmodSync(dir, 0o755);
  for (const d of ['munge', 'state', 'spool', 'log']) fs.mkdirSync(path.join(dir, d), { mode: 0o700 });
  const key = path.join(dir, 'munge', 'munge.key');
  const sock = path.join(dir, 'munge', 'munge.socket');
  execFileSync(which('mungekey')!, ['--create', `--keyfile=${key}`]);
  fs.chmodSync(key, 0o600);
  const children: ChildProcess[] = [];
  const out = (name: string): number => fs.openSync(path.join(dir, 'log', `${name}.out`), 'a');
  const logs = (): string =>
    ['munged.out', 'slurmctld.log', 'slurmd.log', 'slurmctld.out', 'slurmd.out']
      .map((f) => {
        const p = path.join(dir, 'log', f);
        return fs.existsSync(p) ? `--- ${f}\n${fs.readFileSync(p, 'utf8').split('\n').slice(-30).join('\n')}` : '';
      })
      .join('\n');
  // -f: the temporary folder sits under /tmp, whose sticky world-writable mode munged distrusts.
  children.push(
    spawn(which('munged')!, ['-F', '-f', `--socket=${sock}`, `--key-file=${key}`, `--pid-file=${path.join(dir, 'munge', 'munged.pid')}`, `--seed-file=${path.join(dir, 'munge', 'seed')}`, `--log-file=${path.join(dir, 'log', 'munged.log')}`], {
      stdio: ['ignore', out('munged'), out('munged')],
    }),
  );
  const stopAll = async (): Promise<void> => {
    for (const c of [...children].reverse()) await stopChild(c);
  };
  try {
    await waitFor('munged', () => fs.existsSync(sock), 20_000, logs);
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const host = os.hostname().split('.')[0]!;
    const user = os.userInfo().username;
    const node = `tp${process.pid}`;
    const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    fs.mkdirSync(path.join(dir, 'spool', node));
    const conf = path.join(dir, 'slurm.conf');
    fs.writeFileSync(
      conf,
      [
        'ClusterName=tptest',
        `SlurmctldHost=${host}(127.0.0.1)`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${dPort}`,
        'AuthType=auth/munge',
        `AuthInfo=socket=${sock}`,
        'CredType=cred/munge',
        `SlurmUser=${user}`,
        `SlurmdUser=${user}`,
        `StateSaveLocation=${path.join(dir, 'state')}`,
        `SlurmdSpoolDir=${path.join(dir, 'spool', '%n')}`,
        `SlurmctldPidFile=${path.join(dir, 'slurmctld.pid')}`,
        `SlurmdPidFile=${path.join(dir, 'slurmd-%n.pid')}`,
        `SlurmctldLogFile=${path.join(dir, 'log', 'slurmctld.log')}`,
        `SlurmdLogFile=${path.join(dir, 'log', 'slurmd.log')}`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'MpiDefault=none',
        'SwitchType=switch/none',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_CPU',
        'SchedulerType=sched/backfill',
        'JobAcctGatherType=jobacct_gather/none',
        'AccountingStorageType=accounting_storage/none',
        'JobCompType=jobcomp/none',
        'MailProg=/bin/true',
        'ReturnToService=2',
        'SlurmctldTimeout=30',
        'SlurmdTimeout=30',
        'InactiveLimit=0',
        'MinJobAge=600',
        'KillWait=5',
        'Waittime=0',
        `NodeName=${node} NodeHostname=${os.hostname()} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
        `PartitionName=tp Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
        '',
      ].join('\n'),
    );
    const env = { ...process.env, SLURM_CONF: conf };
    children.push(spawn(which('slurmctld')!, ['-D', '-f', conf], { env, stdio: ['ignore', out('slurmctld'), out('slurmctld')] }));
    const sinfo = (): string => spawnSync(which('sinfo')!, ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout?.trim() ?? '';
    await waitFor('slurmctld', () => spawnSync(which('scontrol')!, ['ping'], { env, encoding: 'utf8' }).stdout?.includes('UP') ?? false, 60_000, logs);
    children.push(spawn(which('slurmd')!, ['-D', '-N', node, '-f', conf], { env, stdio: ['ignore', out('slurmd'), out('slurmd')] }));
    await waitFor('slurmd', () => /^idle/.test(sinfo()), 60_000, logs);
    return {
      dir,
      conf,
      partition: 'tp',
      env,
      logs,
      async stop() {
        // Our own cluster: cancel whatever is left, wait for it to leave, then stop the daemons.
        const ids = (spawnSync(which('squeue')!, ['-h', '-o', '%F'], { env, encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean);
        if (ids.length) spawnSync(which('scancel')!, [...new Set(ids)], { env });
        const end = Date.now() + 30_000;
        while (Date.now() < end && (spawnSync(which('squeue')!, ['-h'], { env, encoding: 'utf8' }).stdout ?? '').trim()) await new Promise((r) => setTimeout(r, 250));
        await stopAll();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
