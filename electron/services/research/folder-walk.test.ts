// The folder walker behind data sets and `tumorpredict score`: links to folders and files are
// followed, loops through links end, broken links are listed (their reader says why), hidden
// entries are skipped, and the order is the same on every run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { walkFiles } from './folder-walk';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-walk-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function touch(p: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, 'x');
}

describe('walkFiles', () => {
  it('follows links to folders and files, stops at loops, lists broken links, skips hidden entries', () => {
    const real = path.join(root, 'real');
    touch(path.join(real, 'a', '1.png'));
    touch(path.join(real, 'a', 'deep', '2.png'));
    touch(path.join(real, 'b', '3.png'));
    touch(path.join(real, '.hidden', '4.png'));
    const ds = path.join(root, 'ds');
    fs.mkdirSync(path.join(ds, 'c'), { recursive: true });
    fs.symlinkSync(path.join(real, 'a'), path.join(ds, 'A'));
    fs.symlinkSync(path.join(real, 'b', '3.png'), path.join(ds, 'c', 'three.png'));
    fs.symlinkSync(path.join(root, 'nowhere.png'), path.join(ds, 'c', 'broken.png'));
    fs.symlinkSync(ds, path.join(ds, 'c', 'up')); // loop to the root
    fs.symlinkSync(path.join(ds, 'A'), path.join(real, 'a', 'deep', 'again')); // loop through a link
    const got = walkFiles(ds).map((w) => w.parts.join('/'));
    expect(got).toEqual(['A/1.png', 'A/deep/2.png', 'c/broken.png', 'c/three.png']);
    expect(walkFiles(ds).map((w) => w.file)[0]).toBe(path.join(ds, 'A', '1.png'));
  });

  it('refuses a tree larger than the cap with a sentence', () => {
    const big = path.join(root, 'big');
    for (let i = 0; i < 5; i++) touch(path.join(big, `${i}.png`));
    expect(() => walkFiles(big, { maxFiles: 3 })).toThrow(WorkstationError);
    expect(() => walkFiles(big, { maxFiles: 3 })).toThrow(/more than 3 files/);
  });
});
