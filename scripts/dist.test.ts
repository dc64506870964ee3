// npm run dist on a machine that cannot package: it builds nothing, exits 2, and names each missing
// part (the Electron binary, github.com) with what to do. On a machine that can, --check says so.
import { spawnSync } from 'node:child_process';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

describe('scripts/dist.mjs', () => {
  it('says whether this machine can build installers, and why not', async () => {
    const hasBinary = fs.existsSync(path.join(root, 'node_modules/electron/dist'));
    const online = await dns.lookup('github.com').then(() => true, () => false);
    const env = { ...process.env };
    delete env.ELECTRON_MIRROR;
    delete env.ELECTRON_BUILDER_BINARIES_MIRROR;
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/dist.mjs'), '--check'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    if (hasBinary && online) {
      expect(r.status, r.stderr).toBe(0);
      return;
    }
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('npm run dist cannot build the installers on this machine:');
    if (!hasBinary) expect(r.stderr).toMatch(/The Electron \d+\.\d+\.\d+ binary is missing \(node_modules\/electron\/dist\)/);
    if (!online) expect(r.stderr).toMatch(/github\.com cannot be reached from here/);
    expect(r.stderr).toContain('then `npm run dist`');
    // Nothing was built.
    expect(r.stdout).toBe('');
  });
});
