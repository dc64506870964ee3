#!/usr/bin/env node
// npm run dist [-- electron-builder options, e.g. --linux deb]: builds the installers with
// electron-builder and build/electron-builder.yml (AppImage and deb on Linux, NSIS on Windows,
// dmg on macOS; each on its own platform). Packaging needs two downloads this script cannot make
// for it: the Electron binary (npm install fetches it from github.com unless ELECTRON_MIRROR says
// otherwise) and electron-builder's packaging tools and per-platform Electron builds (from
// github.com, or ELECTRON_BUILDER_BINARIES_MIRROR). Where they cannot come, it says so and exits 2
// before building anything, instead of failing half-way through a download. `--check` only says
// whether this machine can build them (exit 0 or 2).
import { spawnSync } from 'node:child_process';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = path.join(root, 'node_modules', 'electron');
const electronVersion = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(electronDir, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
})();
const builderInstalled = fs.existsSync(path.join(root, 'node_modules', 'electron-builder', 'package.json'));
const electronBinary = fs.existsSync(path.join(electronDir, 'path.txt')) && fs.existsSync(path.join(electronDir, 'dist'));

/** Whether a host name resolves within two seconds (the downloads need it). */
async function resolves(host) {
  try {
    await Promise.race([dns.lookup(host), sleep(2000).then(() => Promise.reject(new Error('timeout')))]);
    return true;
  } catch {
    return false;
  }
}

const problems = [];
if (!builderInstalled) problems.push('electron-builder is not installed: run `npm install` (it is a devDependency).');
if (!electronVersion) problems.push('The electron package is not installed: run `npm install`.');
else if (!electronBinary) {
  problems.push(
    `The Electron ${electronVersion} binary is missing (node_modules/electron/dist): its download during npm install did not happen or failed. ` +
      'With internet access run `node node_modules/electron/install.js` (or set ELECTRON_MIRROR to a reachable mirror first).',
  );
}
const mirrored = !!process.env.ELECTRON_BUILDER_BINARIES_MIRROR && !!process.env.ELECTRON_MIRROR;
if (!mirrored && !(await resolves('github.com'))) {
  problems.push(
    'github.com cannot be reached from here: electron-builder downloads the Electron build for each target and its packaging tools (AppImage, fpm, NSIS) from there. ' +
      'Use a machine with internet access, or set ELECTRON_MIRROR and ELECTRON_BUILDER_BINARIES_MIRROR to mirrors this machine can reach.',
  );
}

const checkOnly = process.argv.includes('--check');
if (problems.length) {
  console.error('npm run dist cannot build the installers on this machine:');
  for (const p of problems) console.error(`  - ${p}`);
  console.error('Needed: Node >= 20.19, `npm install` with access to the npm registry and github.com (the Electron binary), then `npm run dist`; it runs `npm run build` and electron-builder with build/electron-builder.yml, and writes the installers to dist/packages/.');
  process.exit(2);
}
if (checkOnly) {
  console.log(`npm run dist can build the installers here (Electron ${electronVersion}, electron-builder, github.com reachable or mirrors set).`);
  process.exit(0);
}

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npm', ['run', 'build']);
run(process.execPath, [path.join(root, 'node_modules', 'electron-builder', 'cli.js'), '--config', 'build/electron-builder.yml', ...process.argv.slice(2)]);
