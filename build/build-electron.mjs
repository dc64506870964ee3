// Bundles the Electron main process and preload with esbuild into build/out/ (CommonJS, as
// Electron loads a sandboxed preload). Native modules stay external and are rebuilt for
// Electron's ABI by @electron/rebuild at packaging time.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const external = ['electron', 'better-sqlite3-multiple-ciphers', 'keytar', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@node-rs/argon2'];
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, external, logLevel: 'info' };

await build({ ...common, entryPoints: [path.join(root, 'electron/main.ts')], outfile: path.join(root, 'build/out/main.cjs'),
  // import.meta.url is used by services to find their files; map it for the CJS bundle.
  define: { 'import.meta.url': 'importMetaUrl' }, banner: { js: "const importMetaUrl = require('url').pathToFileURL(__filename).href;" } });
await build({ ...common, entryPoints: [path.join(root, 'electron/preload.ts')], outfile: path.join(root, 'build/out/preload.cjs') });
