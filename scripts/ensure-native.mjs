// Builds the native modules this checkout needs, from source, when their binary is missing
// or was built for another Node ABI. Run by `npm start` and `npm test`; dependency install
// scripts are off (.npmrc) because several of them download binaries that cannot be fetched
// offline. Exit code 1 only when a required module cannot be built.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const quiet = process.argv.includes('--quiet');

const MODULES = [
  { name: 'better-sqlite3-multiple-ciphers', required: true, hint: 'needs python3, make and g++ (apt-get install python3 make g++)' },
  { name: 'keytar', required: false, hint: 'needs libsecret-1-dev (apt-get install libsecret-1-dev); without it the database key comes from a passphrase' },
];

function loads(name) {
  try {
    const probe = `require(${JSON.stringify(name)})${name.startsWith('better-sqlite3') ? '(":memory:").close()' : ''}`;
    execFileSync(process.execPath, ['-e', probe], { cwd: root, stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

let failed = false;
for (const mod of MODULES) {
  let dir;
  try {
    dir = path.dirname(require.resolve(`${mod.name}/package.json`));
  } catch {
    if (mod.required) failed = true;
    console.error(`[native] ${mod.name} is not installed. Run npm install.`);
    continue;
  }
  if (loads(mod.name)) {
    if (!quiet) console.log(`[native] ${mod.name}: ok`);
    continue;
  }
  console.log(`[native] building ${mod.name} from source (about a minute)…`);
  try {
    const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [path.dirname(process.execPath), '/usr/lib/node_modules/npm', '/usr/share/nodejs/npm', root] });
    // Compiler chatter is hidden; on failure its tail is printed.
    // node-gyp downloads Node's headers unless told where they are; npm passes its nodedir
    // setting when this runs under npm, and a direct `node scripts/ensure-native.mjs` on a
    // machine without internet needs the headers Node was installed with.
    const nodedir = process.env.npm_config_nodedir || (fs.existsSync('/usr/include/node/node.h') ? '/usr' : '');
    const args = [gyp, 'rebuild', '--release', '-j', 'max', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
    execFileSync(process.execPath, args, { cwd: dir, stdio: 'pipe', maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const output = `${err.stdout ?? ''}${err.stderr ?? ''}`.split('\n').slice(-25).join('\n');
    console.error(`${output}\n[native] could not build ${mod.name}: ${String(err.message).split('\n')[0]}. It ${mod.hint}.`);
    if (mod.required) failed = true;
    continue;
  }
  if (!loads(mod.name)) {
    console.error(`[native] ${mod.name} built but does not load. It ${mod.hint}.`);
    if (mod.required) failed = true;
  } else console.log(`[native] ${mod.name}: built`);
}
if (fs.existsSync(path.join(root, 'node_modules'))) process.exit(failed ? 1 : 0);
