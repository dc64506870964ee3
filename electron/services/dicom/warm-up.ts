// Warming an import worker's code before its first import. A fresh worker runs the import path
// (parse, check, hash, encrypt) in V8's interpreter at first, and V8 compiles the hot functions
// (dicom-parser's element reader, the header readers) on its background threads while the import
// runs: about 100-150 ms of compiler CPU per 500-slice import on a 2-core machine, taken from the
// workers and the main thread. A worker that has just started runs the same path on two synthetic
// MR slices (explicit and implicit VR little endian, the attributes the index reads) a few hundred
// times instead, while the workstation is idle, so the compiled code is there when files come.
// It keeps only partly: after 30-60 s of idling, V8's memory-reducing collections drop compiled
// code whose object shapes have died, and an import then compiled 29-30 functions again (10 right
// after the warm-up, about 40 in a cold worker; --trace-opt). The slices are made here, byte by
// byte: no file is read and nothing is written.
import type { StageOptions } from './process';
import { stageBytes } from './process';

type Vr = 'CS' | 'DA' | 'DS' | 'IS' | 'LO' | 'OB' | 'OW' | 'PN' | 'SH' | 'SQ' | 'TM' | 'UI' | 'UL' | 'US';
type El = [group: number, element: number, vr: Vr, value: Buffer];

const LONG: ReadonlySet<Vr> = new Set<Vr>(['OB', 'OW', 'SQ']);
const text = (s: string, pad = ' '): Buffer => Buffer.from(s.length % 2 ? s + pad : s, 'latin1');
const uid = (s: string): Buffer => text(s, '\0');
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

function encode(els: El[], explicit: boolean): Buffer {
  return Buffer.concat(els.map(([g, e, vr, value]) => {
    const head = Buffer.alloc(explicit ? (LONG.has(vr) ? 12 : 8) : 8);
    head.writeUInt16LE(g, 0);
    head.writeUInt16LE(e, 2);
    if (!explicit) head.writeUInt32LE(value.length, 4);
    else {
      head.write(vr, 4, 'latin1');
      if (LONG.has(vr)) head.writeUInt32LE(value.length, 8);
      else head.writeUInt16LE(value.length, 6);
    }
    return Buffer.concat([head, value]);
  }));
}

/**
 * One synthetic 64x64 16-bit MR slice with the attributes a scanner's file has and the index
 * reads. `full`: every optional attribute present, with fractional values where a scanner writes
 * them (so V8's object shapes are those of real files from the start); otherwise only what an
 * image needs (the absent ones read as null).
 */
function slice(explicit: boolean, full: boolean, n: number): Buffer {
  const ts = explicit ? '1.2.840.10008.1.2.1' : '1.2.840.10008.1.2';
  const root = '2.25.1000000000000000000000000000000000';
  const sop = `${root}.${explicit ? 1 : 2}.${n}`;
  const px = Buffer.alloc(64 * 64 * 2);
  for (let i = 0; i < 64 * 64; i++) px.writeUInt16LE((i * 37 + n) & 0xfff, 2 * i);
  const item = encode([[0x0008, 0x1150, 'UI', uid('1.2.840.10008.5.1.4.1.1.4')], [0x0008, 0x1155, 'UI', uid(`${root}.9`)]], explicit);
  const itemHead = Buffer.alloc(8);
  itemHead.writeUInt16LE(0xfffe, 0);
  itemHead.writeUInt16LE(0xe000, 2);
  itemHead.writeUInt32LE(item.length, 4);
  const z = (n * 5.5 - 60.25).toFixed(2);
  const optional: El[] = full ? [
    [0x0008, 0x0005, 'CS', text('ISO_IR 100')],
    [0x0008, 0x1140, 'SQ', Buffer.concat([itemHead, item])],
    [0x0018, 0x0010, 'LO', text('GADOLINIUM')],
    [0x0018, 0x0015, 'CS', text('BRAIN')],
    [0x0018, 0x0020, 'CS', text('SE')],
    [0x0018, 0x0021, 'CS', text('SK\\SP')],
    [0x0018, 0x0024, 'SH', text('*se2d1')],
    [0x0018, 0x0050, 'DS', text('5.5')],
    [0x0018, 0x0080, 'DS', text('550.5')],
    [0x0018, 0x0081, 'DS', text('9.1')],
    [0x0018, 0x0082, 'DS', text('250.5')],
    [0x0018, 0x1030, 'LO', text('t1_se_tra_post')],
    [0x0020, 0x0011, 'IS', text('5')],
    [0x0020, 0x0052, 'UI', uid(`${root}.5`)],
    [0x0020, 0x1041, 'DS', text(z)],
    [0x0028, 0x0030, 'DS', text('0.9375\\0.9375')],
    [0x0028, 0x1050, 'DS', text('600.5')],
    [0x0028, 0x1051, 'DS', text('1200.5')],
    [0x0028, 0x1052, 'DS', text('-1024.5')],
    [0x0028, 0x1053, 'DS', text('1.25')],
  ] : [];
  const required: El[] = [
    [0x0008, 0x0008, 'CS', text(full ? 'ORIGINAL\\PRIMARY\\M\\ND' : 'DERIVED\\SECONDARY')],
    [0x0008, 0x0016, 'UI', uid('1.2.840.10008.5.1.4.1.1.4')],
    [0x0008, 0x0018, 'UI', uid(sop)],
    [0x0008, 0x0020, 'DA', text('20260101')],
    [0x0008, 0x0030, 'TM', text('101500.000')],
    [0x0008, 0x0050, 'SH', text('WARMUP-1')],
    [0x0008, 0x0060, 'CS', text('MR')],
    [0x0008, 0x0070, 'LO', text('Synthetic')],
    [0x0008, 0x0090, 'PN', text('')],
    [0x0008, 0x1030, 'LO', text('Brain with contrast')],
    [0x0008, 0x103e, 'LO', text('AX T1 POST')],
    [0x0010, 0x0010, 'PN', text('WARM^UP')],
    [0x0010, 0x0020, 'LO', text('WARMUP')],
    [0x0010, 0x0030, 'DA', text('19700101')],
    [0x0010, 0x0040, 'CS', text('O')],
    [0x0020, 0x000d, 'UI', uid(`${root}.3`)],
    [0x0020, 0x000e, 'UI', uid(`${root}.4`)],
    [0x0020, 0x0013, 'IS', text(String(n + 1))],
    [0x0020, 0x0032, 'DS', text(`-120.5\\-130.25\\${z}`)],
    [0x0020, 0x0037, 'DS', text('1\\0\\0\\0\\1\\0')],
    [0x0028, 0x0002, 'US', u16(1)],
    [0x0028, 0x0004, 'CS', text('MONOCHROME2')],
    [0x0028, 0x0010, 'US', u16(64)],
    [0x0028, 0x0011, 'US', u16(64)],
    [0x0028, 0x0100, 'US', u16(16)],
    [0x0028, 0x0101, 'US', u16(12)],
    [0x0028, 0x0102, 'US', u16(11)],
    [0x0028, 0x0103, 'US', u16(0)],
    [0x7fe0, 0x0010, 'OW', px],
  ];
  // Elements in tag order, as a data set must be written.
  const key = ([g, e]: El): number => g * 0x10000 + e;
  const body = encode([...optional, ...required].sort((a, b) => key(a) - key(b)), explicit);
  const metaEls = encode([
    [0x0002, 0x0001, 'OB', Buffer.from([0, 1])],
    [0x0002, 0x0002, 'UI', uid('1.2.840.10008.5.1.4.1.1.4')],
    [0x0002, 0x0003, 'UI', uid(sop)],
    [0x0002, 0x0010, 'UI', uid(ts)],
  ], true);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaEls.length);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), encode([[0x0002, 0x0000, 'UL', groupLength]], true), metaEls, body]);
}

/** The warm-up's slices: explicit VR (most files), full and minimal, and implicit VR little endian. */
export function warmUpSlices(): Buffer[] {
  return [slice(true, true, 0), slice(true, false, 1), slice(true, true, 2), slice(false, true, 3)];
}

/** Files' worth of import work a worker runs before it says it is warm (enough for V8 to optimize the hot path). */
export const WARM_UP_ROUNDS = 400;

/**
 * Runs the import path (stageBytes: parse, check, hash, encrypt for a pack) on the warm-up slices
 * `rounds` times, `chunk` at a time, handing the thread back between chunks; stops early when
 * `stop()` says real work is waiting (real files warm it as well). Nothing it makes is kept.
 * Resolves with the rounds run.
 */
export async function warmUpImportPath(opts: StageOptions, stop: () => boolean, rounds = WARM_UP_ROUNDS, chunk = 25): Promise<number> {
  // The worker moves records to the main thread (a transfer detaches their buffers), and V8 drops
  // every piece of compiled typed-array code the first time a buffer of the thread is detached
  // (its "no detached buffers" assumption no longer holds). Detach one first, so the code compiled
  // below stays valid through the first real answer.
  const spare = new ArrayBuffer(8);
  structuredClone(spare, { transfer: [spare] });
  const slices = warmUpSlices();
  const o: StageOptions = { limits: opts.limits, blobFolder: opts.blobFolder, kek: opts.kek, pack: true };
  let done = 0;
  while (done < rounds && !stop()) {
    for (let i = 0; i < chunk && done < rounds; i++, done++) {
      const out = await stageBytes(slices[done % slices.length]!, o);
      if (!out.ok) throw new Error(`the warm-up slice was refused: ${out.reason}`);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return done;
}
