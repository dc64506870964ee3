// `npm run bench` does not stop at the first suite that fails (issue 12, "Also"): the failure is
// reported, in the output and the JSON, and the suites after it still run.
import { describe, expect, it } from 'vitest';
import { runSuites } from './run-suites';
import type { BenchSuite } from './types';

describe('bench runner', () => {
  it('reports a failing suite and runs the rest', async () => {
    const ran: string[] = [];
    const suite = (name: string, fail: boolean): BenchSuite => ({
      name,
      description: name,
      run: async () => {
        ran.push(name);
        if (fail) throw new Error('page.waitForFunction: Timeout 30000ms exceeded (Chromium)');
        return { figure: 1 };
      },
    });
    const lines: string[] = [];
    const r = await runSuites([suite('dicom', false), suite('viewer', true), suite('research', false)], { quick: true, log: (l) => lines.push(l) });
    expect(ran).toEqual(['dicom', 'viewer', 'research']);
    expect(r.failed).toEqual([{ name: 'viewer', error: expect.stringMatching(/Timeout 30000ms/) }]);
    expect(r.suites).toMatchObject({ dicom: { figure: 1 }, viewer: { failed: true }, research: { figure: 1 } });
    expect(lines.join('\n')).toMatch(/FAILED: page\.waitForFunction.*the other suites still run/);
  });
});
