// `npm start`: builds what is missing, then launches the Electron app when its binary is
// present and a display exists; otherwise says why and starts the headless host, printing the
// URL to open. Flags after `--` pass through (e.g. `npm start -- --data DIR --port 8080`).
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const args = process.argv.slice(2);

function run(cmd, cmdArgs) {
  execFileSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
}

run(process.execPath, ['scripts/ensure-native.mjs', '--quiet']);

run(process.execPath, ['scripts/ensure-renderer.mjs']);

function electronBinary() {
  try {
    // The electron package exports the path of its binary, and throws if the download never happened.
    const bin = require('electron');
    if (typeof bin === 'string' && fs.existsSync(bin)) return { bin };
    return { why: 'the electron package is installed but its binary is not (the download at install time did not happen)' };
  } catch (err) {
    return { why: `the Electron binary is not installed (${String(err.message).split('\n')[0]})` };
  }
}

const electron = electronBinary();
const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
if (electron.bin && !noDisplay) {
  run(process.execPath, ['build/build-electron.mjs']);
  const child = spawn(electron.bin, ['build/out/main.cjs', ...args], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const why = electron.bin ? 'there is no display (DISPLAY is not set)' : electron.why;
  console.log(`Not starting the desktop app: ${why}.`);
  console.log('Starting the headless host instead; open the address below in a browser on this machine.');
  const child = spawn(process.execPath, ['bin/tumorpredict.js', 'serve', ...args], { cwd: root, stdio: 'inherit' });
  const stop = (sig) => child.kill(sig);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code) => process.exit(code ?? 0));
}
