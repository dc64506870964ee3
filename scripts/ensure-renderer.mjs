// Builds the renderer (dist/renderer) when it is missing or older than its sources: `npm start`
// and `npm run bench` (whose viewer suite opens it in Chromium) run this first, so a fresh
// checkout needs no separate build step.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

const index = path.join(root, 'dist/renderer/index.html');
if (!fs.existsSync(index) || newestMtime(path.join(root, 'renderer')) > fs.statSync(index).mtimeMs) {
  console.log('Building the renderer…');
  execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'error'], { cwd: root, stdio: 'inherit' });
}
