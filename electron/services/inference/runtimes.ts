// Detects which inference runtimes load on this machine, in order of preference. Each probe
// imports the package at run time, so a missing optional package is a reason, not a crash.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import type { RuntimeInfo, RuntimeName } from '../../contract';

const require = createRequire(import.meta.url);

export const RUNTIME_PREFERENCE: readonly RuntimeName[] = ['tfjs-node-gpu', 'onnxruntime-node', 'tfjs-node', 'tfjs-wasm'];

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.slice(0, 200);
}

export function detectGpu(): { found: boolean; detail: string } {
  // NVIDIA's kernel driver exposes this file when a CUDA-capable GPU is present.
  try {
    const version = fs.readFileSync('/proc/driver/nvidia/version', 'utf8').split('\n')[0] ?? '';
    return { found: true, detail: version.trim() };
  } catch {
    return { found: false, detail: 'No NVIDIA GPU driver found (/proc/driver/nvidia/version is absent); inference runs on the CPU.' };
  }
}

const SAME = 'the AI results do not depend on the runtime, only the speed does.';
const REINSTALL = `It was not fully installed on this computer (its installation needs an internet download). Ask IT to finish the installation (README: "Installing on a hospital workstation"). Meanwhile the workstation uses another runtime: ${SAME}`;
const NO_GPU = `This computer has no NVIDIA graphics card with its driver, which this runtime needs. Nothing to do: the workstation uses the processor instead, and ${SAME}`;

/** The admin-facing sentence for an unavailable runtime: what it means and whom to ask, no commands (the reason stays for IT). */
export function withHint(info: RuntimeInfo): RuntimeInfo {
  if (info.available || !info.reason) return info;
  const r = info.reason;
  const adminHint = /No CUDA GPU found/.test(r)
    ? NO_GPU
    : /not installed|without its|did not run|is missing/.test(r)
      ? REINSTALL
      : `It did not start on this computer. Ask IT to look at "tumorpredict doctor" for the details. Meanwhile the workstation uses another runtime: ${SAME}`;
  return { ...info, adminHint };
}

function probe(name: RuntimeName, gpu: boolean): RuntimeInfo {
  return withHint(probeRaw(name, gpu));
}

function probeRaw(name: RuntimeName, gpu: boolean): RuntimeInfo {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node': {
      const pkg = name === 'tfjs-node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      const device = name === 'tfjs-node-gpu' ? 'cuda' : 'cpu';
      const noGpu = name === 'tfjs-node-gpu' && !gpu ? 'No CUDA GPU found on this machine' : null;
      let dir: string;
      try {
        dir = path.dirname(require.resolve(`${pkg}/package.json`));
      } catch {
        const missing = `${pkg} is not installed (optional; install it where libtensorflow can be downloaded).`;
        return { name, available: false, device, reason: noGpu ? `${noGpu}, and ${missing}` : missing };
      }
      // Its install script downloads libtensorflow into deps/lib and fetches or builds the N-API
      // binding into lib/napi-v*/; with install scripts off (.npmrc) or no network, neither exists.
      const libDir = path.join(dir, 'deps', 'lib');
      const hasLib = fs.existsSync(libDir) && fs.readdirSync(libDir).some((f) => f.startsWith('libtensorflow'));
      const libRoot = path.join(dir, 'lib');
      const hasBinding = fs.existsSync(libRoot) && fs.readdirSync(libRoot).some((d) => d.startsWith('napi-v') && fs.existsSync(path.join(libRoot, d, 'tfjs_binding.node')));
      if (!hasLib || !hasBinding) {
        const what = !hasLib && !hasBinding ? 'its native libtensorflow and its tfjs_binding.node' : !hasLib ? 'its native libtensorflow' : 'its tfjs_binding.node';
        const installed = `${pkg} is installed as an optional dependency without ${what}: its install script, which downloads them, did not run (npm install scripts are off in .npmrc, or there was no network). Run \`npm rebuild ${pkg} --ignore-scripts=false\` with network access to enable it.`;
        return { name, available: false, device, reason: noGpu ? `${noGpu}; also, ${installed}` : installed };
      }
      if (noGpu) return { name, available: false, device, reason: `${noGpu}.` };
      return { name, available: true, device };
    }
    case 'onnxruntime-node': {
      try {
        require('onnxruntime-node');
        const cudaProvider = (() => {
          try {
            const dir = require.resolve('onnxruntime-node/package.json').replace(/package\.json$/, `bin/napi-v6/${process.platform}/${process.arch}/`);
            return fs.existsSync(dir + 'libonnxruntime_providers_cuda.so');
          } catch {
            return false;
          }
        })();
        return { name, available: true, device: cudaProvider && gpu ? 'cuda' : 'cpu' };
      } catch (err) {
        return { name, available: false, device: 'cpu', reason: `onnxruntime-node did not load: ${firstLine(err)}` };
      }
    }
    case 'tfjs-wasm': {
      try {
        require.resolve('@tensorflow/tfjs-backend-wasm');
        require.resolve('@tensorflow/tfjs');
        return { name, available: true, device: 'cpu' };
      } catch (err) {
        return { name, available: false, device: 'cpu', reason: `@tensorflow/tfjs-backend-wasm is missing: ${firstLine(err)}` };
      }
    }
  }
}

export function detectRuntimes(): RuntimeInfo[] {
  const gpu = detectGpu().found;
  return RUNTIME_PREFERENCE.map((name) => probe(name, gpu));
}

export function pickRuntime(runtimes: RuntimeInfo[], wanted: RuntimeName | 'auto'): RuntimeName | null {
  if (wanted !== 'auto') return runtimes.find((r) => r.name === wanted && r.available) ? wanted : null;
  return runtimes.find((r) => r.available)?.name ?? null;
}
