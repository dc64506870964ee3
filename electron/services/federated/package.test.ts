// The update package: one ZIP of weights.npz, manifest.json and the site's Ed25519 signature; a
// closed manifest schema (no free text anywhere); tampering, a foreign key and extra files are
// refused with reasons.
import { unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { HeadWeights } from './model-head';
import { buildPackage, keyFingerprint, newSiteKey, openPackage, signatureValid, type Manifest } from './package';

const head: HeadWeights = { classes: 5, dim: 8, weight: Float32Array.from({ length: 40 }, (_, i) => i / 10), bias: Float32Array.from([1, 2, 3, 4, 5]) };
const key = newSiteKey();

function manifest(over: Partial<Manifest> = {}): Omit<Manifest, 'format' | 'weightsSha256'> {
  return {
    round: 3,
    site: 'north-hospital',
    siteKey: keyFingerprint(key.publicKey),
    parent: { modelId: 'tumornet', version: '1.0.0', cardSha256: 'a'.repeat(64), headSha256: 'b'.repeat(64) },
    head: { classes: ['glioma', 'meningioma', 'notumor', 'pituitary', 'other'], dim: 8 },
    samples: 120,
    classCounts: { glioma: 60, notumor: 60 },
    metrics: { before: { loss: 1.2, accuracy: 0.5 }, after: { loss: 0.3, accuracy: 0.9 }, history: [{ epoch: 1, loss: 0.3, accuracy: 0.9 }] },
    training: { optimizer: 'adam', learningRate: 0.003, momentum: 0.9, epochs: 1, batchSize: 32, weightDecay: 0, seed: 1, fedproxMu: 0, frozenClasses: ['other'], steps: 4 },
    privacy: null,
    createdAt: '2026-11-21T10:00:00Z',
    software: 'tumorpredict-0.1.0',
    ...over,
  };
}

describe('update package', () => {
  it('holds exactly weights.npz, manifest.json and manifest.sig; the signature verifies with the site key only', () => {
    const p = buildPackage(manifest(), head, key);
    expect(Object.keys(unzipSync(p.bytes)).sort()).toEqual(['manifest.json', 'manifest.sig', 'weights.npz']);
    const opened = openPackage(p.bytes);
    expect(opened.manifest).toMatchObject({ format: 'tumorpredict-federated-update/1', round: 3, site: 'north-hospital', samples: 120 });
    expect(opened.sha256).toBe(p.sha256);
    expect(signatureValid(opened, key.publicKey)).toBe(true);
    expect(signatureValid(opened, newSiteKey().publicKey)).toBe(false);
  });

  it('is a few kilobytes for a 5 x 128 head', () => {
    const big = buildPackage(manifest({ head: { classes: ['glioma', 'meningioma', 'notumor', 'pituitary', 'other'], dim: 128 } }), { classes: 5, dim: 128, weight: new Float32Array(640).map(() => Math.random()), bias: new Float32Array(5) }, key);
    expect(big.bytes.length).toBeLessThan(8 * 1024);
  });

  it('refuses weights changed after signing, a changed manifest, extra files and non-packages, with reasons', () => {
    const p = buildPackage(manifest(), head, key);
    const files = unzipSync(p.bytes);
    const w = new Uint8Array(files['weights.npz']!);
    w[w.length - 1]! ^= 1;
    expect(() => openPackage(zipSync({ ...files, 'weights.npz': w }))).toThrow(/do not match the sha256/);
    const m = JSON.parse(Buffer.from(files['manifest.json']!).toString()) as Manifest;
    const forged = openPackage(zipSync({ ...files, 'manifest.json': Buffer.from(JSON.stringify({ ...m, samples: 99999 })) }));
    expect(signatureValid(forged, key.publicKey)).toBe(false);
    expect(() => openPackage(zipSync({ ...files, 'scan.png': new Uint8Array([1, 2, 3]) }))).toThrow(/exactly manifest.json, weights.npz, manifest.sig; this one holds .*scan.png/);
    expect(() => openPackage(new Uint8Array([80, 75, 1, 2]))).toThrow(/not an update package/);
  });

  it('the closed manifest has no room for a path, a file name, a patient or study identifier', () => {
    const bad = (over: Record<string, unknown>): void => {
      expect(() => buildPackage({ ...manifest(), ...over } as never, head, key)).toThrow();
    };
    bad({ source: '/data/Doe_Jane/PID-778899/IMG0001.dcm' });
    bad({ site: '/home/radiology/scans' });
    bad({ classCounts: { 'Doe^Jane': 3 } });
    bad({ parent: { ...manifest().parent, modelId: '../../patients/PID-778899' } });
    bad({ training: { ...manifest().training, note: 'images from study 1.2.840.113619' } });
    bad({ metrics: { ...manifest().metrics, items: ['glioma/Tr-gl_0001.jpg'] } });
    // and a manifest edited to carry one is refused on arrival, even with a valid-looking signature
    const p = buildPackage(manifest(), head, key);
    const files = unzipSync(p.bytes);
    const m = JSON.parse(Buffer.from(files['manifest.json']!).toString()) as Record<string, unknown>;
    expect(() => openPackage(zipSync({ ...files, 'manifest.json': Buffer.from(JSON.stringify({ ...m, patientId: 'PID-778899' })) }))).toThrow(/does not follow the update format/);
  });
});
