// Autosave loses no acknowledged keystroke: a child process saves a draft keystroke by keystroke
// and is SIGKILLed mid-stream; reopened, the database holds at least every acknowledged save.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkIntegrity } from '../store';
import { createReportsFixture } from '../../testing/reports';

const CHILD = path.join(import.meta.dirname, '../../testing/reports-autosave-child.ts');
let dir = '';
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function runAndKill(args: string[], acks: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killing = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child never acknowledged ${acks} saves:\n${out}\n${err}`));
    }, 90_000);
    child.stdout.on('data', (d) => {
      out += String(d);
      if (!killing && (out.match(/^saved /gm)?.length ?? 0) >= acks) {
        killing = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`the child exited by itself (${code}):\n${out}\n${err}`));
      else resolve(out);
    });
  });
}

describe('autosave under SIGKILL', () => {
  it('keeps every acknowledged save of a draft', async () => {
    const fx = await createReportsFixture();
    dir = fx.dir;
    const report = fx.reports.open(fx.studyId, fx.actors.radiologist);
    const startLength = report.sections.impression.text.length;
    await fx.close();

    const out = await runAndKill([dir, report.id], 150);
    const acked = [...out.matchAll(/^saved (\d+) (\d+)$/gm)].map((m) => ({ revision: Number(m[1]), length: Number(m[2]) }));
    const last = acked[acked.length - 1]!;
    expect(acked.length).toBeGreaterThanOrEqual(150);

    const again = await createReportsFixture({ dataDir: dir, seed: false });
    try {
      expect(checkIntegrity(again.db())).toEqual([]);
      const r = again.reports.get(report.id, again.actors.radiologist);
      // At least the last acknowledged save; at most one more (committed, killed before printing).
      expect(r.revision).toBeGreaterThanOrEqual(last.revision);
      expect(r.revision).toBeLessThanOrEqual(last.revision + 1);
      expect(r.sections.impression.text.length).toBeGreaterThanOrEqual(last.length);
      expect(r.sections.impression.text.length).toBe(startLength + (r.revision - report.revision));
      expect(r.sections.impression.origin).toBe('ai-edited');
      expect(again.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await again.close();
    }
  });
});
