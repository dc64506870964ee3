// The simulation's split of the shared data: the reference set is the model pipeline's validation
// split plus whole LGG patients, sites never share an LGG patient, every image goes to at most one
// place, a small Dirichlet concentration gives non-IID class mixes, and the same seed the same split.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appRoot } from '../config';
import { datasetsRoot } from '../../testing/research';
import fs from 'node:fs';
import { sharedItems, splitForSimulation, splitLists } from './split';

const items = sharedItems(datasetsRoot(), path.join(appRoot(), 'native-models', 'training', 'splits'));

describe('simulation split', () => {
  it('reads every shared data set with its source, split and patient group', () => {
    const by = (s: string) => items.filter((i) => i.source === s).length;
    expect(by('mri')).toBe(4495);
    expect(by('seg')).toBe(2718);
    expect(by('lgg-flair') + by('lgg-t1') + by('lgg-t1ce')).toBe(1663);
    expect(items.filter((i) => i.source === 'mri' && i.split === 'val').length).toBeGreaterThan(600);
  });

  it('keeps the reference set apart, LGG patients whole, and is non-IID by class and source', () => {
    const s = splitForSimulation(items, { sites: 3, alpha: 0.5, seed: 1, siteData: 'unseen', referenceLgg: 0.2 });
    const ref = new Set(s.reference.map((i) => i.file));
    const all = s.sites.flat();
    expect(all.some((i) => ref.has(i.file))).toBe(false);
    expect(new Set(all.map((i) => i.file)).size).toBe(all.length);
    expect(s.reference.every((i) => i.source.startsWith('lgg') || i.split === 'val')).toBe(true);
    expect(all.every((i) => i.source.startsWith('lgg') || i.split === 'cal' || i.split === 'sel')).toBe(true);
    const patientSites = new Map<string, Set<number>>();
    s.sites.forEach((list, k) => list.filter((i) => i.source.startsWith('lgg')).forEach((i) => patientSites.set(i.group, (patientSites.get(i.group) ?? new Set()).add(k))));
    for (const sites of patientSites.values()) expect(sites.size).toBe(1);
    const refPatients = new Set(s.reference.filter((i) => i.source.startsWith('lgg')).map((i) => i.group));
    for (const p of patientSites.keys()) expect(refPatients.has(p)).toBe(false);
    // Non-IID: some class's share differs between sites by more than 30 points.
    const share = (k: number, label: string) => s.sites[k]!.filter((i) => i.label === label).length / s.sites[k]!.length;
    const spread = Math.max(...['glioma', 'meningioma', 'notumor', 'pituitary'].map((l) => Math.max(...[0, 1, 2].map((k) => share(k, l))) - Math.min(...[0, 1, 2].map((k) => share(k, l)))));
    expect(spread).toBeGreaterThan(0.3);
  });

  it('the same seed gives the same split; a source filter keeps only that source at the sites', () => {
    const a = splitForSimulation(items, { sites: 2, alpha: 0.5, seed: 7, siteData: 'all', referenceLgg: 0.2 });
    const b = splitForSimulation(items, { sites: 2, alpha: 0.5, seed: 7, siteData: 'all', referenceLgg: 0.2 });
    expect(a.sites.map((l) => l.map((i) => i.file))).toEqual(b.sites.map((l) => l.map((i) => i.file)));
    const f = splitForSimulation(items, { sites: 1, alpha: 0.5, seed: 7, siteData: 'unseen', referenceLgg: 0.2, sources: ['lgg-flair'] });
    expect(new Set(f.sites[0]!.map((i) => i.source))).toEqual(new Set(['lgg-flair']));
    expect(new Set(f.reference.map((i) => i.source)).size).toBe(5);
  });

  it('reads the split lists of the pipeline run that made the model: .txt for 1.x, .csv (with LGG) from 2.0.0 on', () => {
    const dir = path.join(appRoot(), 'native-models', 'training', 'splits');
    const names = fs.readdirSync(dir);
    const v1 = splitLists(dir, '1.0.0');
    expect([...v1.keys()].every((k) => k.startsWith('mri/') || k.startsWith('seg/'))).toBe(true);
    if (names.some((n) => n.endsWith('.csv'))) {
      const v2 = splitLists(dir, '2.0.0');
      expect([...v2.keys()].some((k) => k.startsWith('lgg/'))).toBe(true);
      const lgg = sharedItems(datasetsRoot(), dir, '2.0.0').filter((i) => i.source.startsWith('lgg'));
      expect(lgg.every((i) => i.split !== null)).toBe(true);
    }
  });
});

