// The settings page tells an admin what an unavailable runtime means and whom to ask, in words;
// the technical reason (with its npm command) stays for IT and `tumorpredict doctor`.
import { describe, expect, it } from 'vitest';
import { detectRuntimes, withHint } from './runtimes';

describe('withHint', () => {
  it('turns an install problem into a sentence without commands', () => {
    const info = withHint({ name: 'tfjs-node', available: false, device: 'cpu', reason: '@tensorflow/tfjs-node is installed as an optional dependency without its native libtensorflow: ... Run `npm rebuild @tensorflow/tfjs-node --ignore-scripts=false` with network access to enable it.' });
    expect(info.adminHint).toMatch(/^It was not fully installed on this computer.*Ask IT to finish the installation/);
    expect(info.adminHint).not.toMatch(/npm|--|`/);
    expect(info.reason).toMatch(/npm rebuild/);
  });

  it('says a missing GPU needs nothing done', () => {
    expect(withHint({ name: 'tfjs-node-gpu', available: false, device: 'cuda', reason: 'No CUDA GPU found on this machine.' }).adminHint).toMatch(/no NVIDIA graphics card.*Nothing to do/);
  });

  it('adds nothing to an available runtime, and every unavailable one detected here has a hint', () => {
    expect(withHint({ name: 'tfjs-wasm', available: true, device: 'cpu' })).toEqual({ name: 'tfjs-wasm', available: true, device: 'cpu' });
    for (const r of detectRuntimes()) if (!r.available) expect(r.adminHint, r.name).toMatch(/\.$/);
  });
});
