// `tumorpredict score` and `segment` end to end, as a researcher runs them: a real folder of MRI
// images in class folders plus odd inputs, the real model, the real worker pool, a child process.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoot } from '../../services/config';
import { decodeImage } from '../../services/inference';
import { mriImages, requireModelDir } from '../../testing/inference';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-score-'));
const input = path.join(root, 'in');
const data = path.join(root, 'data');
const CLASSES = ['glioma', 'meningioma', 'notumor', 'pituitary'];

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(appRoot(), 'bin', 'tumorpredict.js'), ...args, '--data', data], {
    cwd: appRoot(),
    encoding: 'utf8',
    env: { ...process.env, TUMORPREDICT_MODELS: path.dirname(requireModelDir()) },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Expected readable images: relative path -> [width, height, truth]. */
const expected = new Map<string, [number, number, string]>();

beforeAll(() => {
  for (const c of CLASSES) {
    fs.mkdirSync(path.join(input, c), { recursive: true });
    for (const src of mriImages(c, 3)) {
      const rel = `${c}/${path.basename(src)}`;
      fs.copyFileSync(src, path.join(input, rel));
      const img = decodeImage(fs.readFileSync(src));
      expected.set(rel, [img.width, img.height, c]);
    }
  }
  // A nested class folder (SARTAJ-style name) and odd formats with no ground truth.
  fs.mkdirSync(path.join(input, 'extra', 'Glioma_Tumor'), { recursive: true });
  const g = mriImages('glioma', 4)[3]!;
  fs.copyFileSync(g, path.join(input, 'extra', 'Glioma_Tumor', 'nested, "quoted".jpg'));
  expected.set('extra/Glioma_Tumor/nested, "quoted".jpg', [224, 224, 'glioma']);
  const w16 = 97;
  const h16 = 61;
  const png16 = new PNG({ width: w16, height: h16, colorType: 0, inputColorType: 0, bitDepth: 16, inputHasAlpha: false });
  const s16 = new Uint16Array(w16 * h16).map((_, i) => (i * 37) % 4096);
  png16.data = Buffer.from(s16.buffer);
  fs.writeFileSync(path.join(input, 'grey16.png'), PNG.sync.write(png16, { colorType: 0, inputColorType: 0, bitDepth: 16, inputHasAlpha: false }));
  expected.set('grey16.png', [w16, h16, '']);
  const rgb = new PNG({ width: 150, height: 40 });
  for (let i = 0; i < 150 * 40; i++) rgb.data.set([i % 256, 50, 200, 255], i * 4);
  fs.writeFileSync(path.join(input, 'colour.png'), PNG.sync.write(rgb));
  expected.set('colour.png', [150, 40, '']);
  // Unreadable: a truncated JPEG, a text file, an empty file.
  fs.mkdirSync(path.join(input, 'bad'));
  fs.writeFileSync(path.join(input, 'bad', 'truncated.jpg'), fs.readFileSync(g).subarray(0, 400));
  fs.writeFileSync(path.join(input, 'bad', 'notes.txt'), 'not an image');
  fs.writeFileSync(path.join(input, 'bad', 'empty.png'), '');
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (q) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') q = false;
      else field += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  return rows;
}

describe('tumorpredict score', () => {
  it('writes one row per readable image with the required columns first, lists unreadable files, prints metrics', () => {
    const out = path.join(root, 'results.csv');
    const r = cli('score', input, '--out', out, '--batch', '4');
    expect(r.code, r.stderr).toBe(0);
    const rows = parseCsv(fs.readFileSync(out, 'utf8'));
    expect(rows[0]!.slice(0, 7)).toEqual(['path', 'label', 'p_glioma', 'p_meningioma', 'p_notumor', 'p_pituitary', 'truth']);
    const body = rows.slice(1);
    expect(body.map((b) => b[0]).sort()).toEqual([...expected.keys()].sort());
    for (const b of body) {
      const [, , truth] = expected.get(b[0]!)!;
      expect(b[6], b[0]).toBe(truth);
      expect(['glioma', 'meningioma', 'notumor', 'pituitary', 'not recognised']).toContain(b[1]);
      const ps = b.slice(2, 6).map(Number);
      for (const p of ps) expect(p >= 0 && p <= 1).toBe(true);
      expect(b.length).toBe(rows[0]!.length);
    }
    // Unreadable files: listed with a reason on stderr, no CSV row, and the run went on.
    expect(r.stderr).toMatch(/Skipped 3 unreadable file\(s\)/);
    expect(r.stderr).toMatch(/bad\/truncated\.jpg: .*damaged or truncated/);
    expect(r.stderr).toMatch(/bad\/notes\.txt: .*not a PNG or JPEG/);
    expect(r.stderr).toMatch(/bad\/empty\.png: /);
    // Ground truth present: accuracy, per-class recall and the confusion matrix.
    expect(r.stdout).toMatch(/Accuracy: \d+\.\d\d% \(\d+ of 13 images with ground truth/);
    expect(r.stdout).toMatch(/Per-class recall:\n\s+glioma\s/);
    expect(r.stdout).toMatch(/Confusion matrix \(rows: truth, columns: predicted\):/);
    expect(r.stdout).toMatch(/not medical device|not a medical device/i);
    // Progress is on stderr (plain percentage lines when not a terminal), never on stdout.
    expect(r.stderr).toMatch(/Scoring: 100% \(18\/18\)/);
  });

  it('follows symlinked class folders (a data set assembled without copying), with a loop guard', () => {
    // Class folders that are links to the real ones, a linked file, and a link back to the root.
    const linked = path.join(root, 'linked');
    fs.mkdirSync(linked);
    fs.symlinkSync(path.join(input, 'glioma'), path.join(linked, 'glioma'));
    fs.symlinkSync(path.join(input, 'pituitary'), path.join(linked, 'Pituitary_Tumor'));
    fs.mkdirSync(path.join(linked, 'notumor'));
    const one = fs.readdirSync(path.join(input, 'notumor')).sort()[0]!;
    fs.symlinkSync(path.join(input, 'notumor', one), path.join(linked, 'notumor', one));
    fs.symlinkSync(linked, path.join(linked, 'notumor', 'loop'));
    const out = path.join(root, 'linked.csv');
    const r = cli('score', linked, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/This is a folder/);
    expect(r.stderr).not.toMatch(/Skipped/);
    const body = parseCsv(fs.readFileSync(out, 'utf8')).slice(1);
    const want = [
      ...fs.readdirSync(path.join(input, 'glioma')).map((f) => [`glioma/${f}`, 'glioma']),
      [`notumor/${one}`, 'notumor'],
      ...fs.readdirSync(path.join(input, 'pituitary')).map((f) => [`Pituitary_Tumor/${f}`, 'pituitary']),
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
    expect(body.map((b) => [b[0], b[6]])).toEqual(want);
  });

  it('refuses bad options with a sentence and exit code 1', () => {
    const bad = cli('score', input, '--out', path.join(root, 'x.csv'), '--batch', '0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--batch must be a whole number/);
    const rt = cli('score', input, '--out', path.join(root, 'x.csv'), '--runtime', 'cuda-magic');
    expect(rt.code).toBe(1);
    expect(rt.stderr).toMatch(/Unknown runtime "cuda-magic"/);
    const missing = cli('score', path.join(root, 'nope'), '--out', path.join(root, 'x.csv'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
    expect(fs.existsSync(path.join(root, 'x.csv'))).toBe(false);
  });
});

describe('Ctrl-C', () => {
  it('cancels a running score cleanly: exit 130, the rows scored so far are written, no crash', async () => {
    const many = path.join(root, 'many', 'glioma');
    fs.mkdirSync(many, { recursive: true });
    const srcs = mriImages('glioma', 20);
    for (let i = 0; i < 600; i++) fs.copyFileSync(srcs[i % srcs.length]!, path.join(many, `img-${String(i).padStart(4, '0')}.jpg`));
    const out = path.join(root, 'cancelled.csv');
    const child = spawn(process.execPath, [path.join(appRoot(), 'bin', 'tumorpredict.js'), 'score', path.dirname(many), '--out', out, '--data', data, '--batch', '4'], {
      cwd: appRoot(),
      env: { ...process.env, TUMORPREDICT_MODELS: path.dirname(requireModelDir()) },
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Interrupt once scoring is under way (the first 10% reported), as a user would.
      if (!sent && /Scoring: [1-9]0% /.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(sent, stderr).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/Cancelling \(Ctrl-C\)/);
    expect(stderr).toMatch(/Cancelled: \d+ of 600 files were processed/);
    expect(stderr).not.toMatch(/terminate called|Aborted|core dumped/);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(rows[0]!.startsWith('path,label,p_glioma,p_meningioma,p_notumor,p_pituitary,truth')).toBe(true);
    expect(rows.length - 1).toBeGreaterThan(0);
    expect(rows.length - 1).toBeLessThan(600);
  });
});

describe('tumorpredict segment', () => {
  it('writes a 0/255 mask PNG of each input\'s own size at the same relative path', () => {
    const outDir = path.join(root, 'masks');
    const r = cli('segment', input, '--out', outDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Skipped 3 unreadable file\(s\)/);
    for (const [rel, [w, h]] of expected) {
      const file = path.join(outDir, rel.replace(/\.[^./]+$/, '.png'));
      expect(fs.existsSync(file), file).toBe(true);
      const m = decodeImage(fs.readFileSync(file));
      expect([m.width, m.height, m.channels], rel).toEqual([w, h, 1]);
      for (const v of m.data) if (v !== 0 && v !== 255) throw new Error(`${rel}: mask value ${v}`);
    }
    expect(fs.existsSync(path.join(outDir, 'bad', 'truncated.png'))).toBe(false);
  });
});
