// Test helpers: a real encrypted store (passphrase mode) in a temp folder, the audit log, and the
// hostile files the import tests and the fuzz test write, and where a stored blob's bytes are.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { blobPath, packFolder, recordLength } from '../services/blobs';
import { createDicomIndex } from '../services/dicom/index-db';
import { createStore, type Db, type Store } from '../services/store';
import { createAuditLog, type AuditLog } from '../services/audit';

export async function openTestStore(prefix = 'tp-dicom-'): Promise<{ dir: string; store: Store; audit: AuditLog; cleanup(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: 'correct horse battery staple 42' });
  if (!store.isOpen()) throw new Error(`test store did not open: ${store.status().problem}`);
  const audit = createAuditLog(() => store.db());
  return { dir, store, audit, cleanup: () => { store.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

function el(group: number, element: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT', 'OF'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(element, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}
const str = (s: string): Buffer => Buffer.from(s.length % 2 ? s + ' ' : s, 'latin1');
const uid = (s: string): Buffer => Buffer.from(s.length % 2 ? s + '\0' : s, 'latin1');
const us = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const ul = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };

/** A minimal explicit-LE (or deflated) Part 10 file; `body` is the data set after the meta header. */
export function part10(body: Buffer, ts = '1.2.840.10008.1.2.1', deflate = false): Buffer {
  const metaEls = Buffer.concat([
    el(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    el(0x0002, 0x0002, 'UI', uid('1.2.840.10008.5.1.4.1.1.7')),
    el(0x0002, 0x0003, 'UI', uid('1.2.3.4.5.6.7')),
    el(0x0002, 0x0010, 'UI', uid(ts)),
  ]);
  const gl = Buffer.alloc(4);
  gl.writeUInt32LE(metaEls.length);
  const meta = Buffer.concat([el(0x0002, 0x0000, 'UL', gl), metaEls]);
  const data = deflate ? zlib.deflateRawSync(body) : body;
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), meta, data]);
}

/**
 * `dimensionsAsUL` writes Rows and Columns with VR UL (4 bytes) instead of US: the standard says
 * US, so only a hostile writer does this, and it is the only way to declare 100000 x 100000.
 */
export function imageBody(opts: { rows: number; cols: number; sop: string; pixels?: Buffer; pixelLength?: number; extra?: Buffer; dimensionsAsUL?: boolean }): Buffer {
  const px = opts.pixels ?? Buffer.alloc(opts.rows * opts.cols * 2, 7);
  const pixelEl = el(0x7fe0, 0x0010, 'OW', px);
  if (opts.pixelLength !== undefined) pixelEl.writeUInt32LE(opts.pixelLength, 8);
  return Buffer.concat([
    el(0x0008, 0x0016, 'UI', uid('1.2.840.10008.5.1.4.1.1.7')),
    el(0x0008, 0x0018, 'UI', uid(opts.sop)),
    el(0x0008, 0x0060, 'CS', str('OT')),
    el(0x0010, 0x0010, 'PN', str('HOSTILE^TEST')),
    el(0x0010, 0x0020, 'LO', str('H-1')),
    el(0x0020, 0x000d, 'UI', uid('1.2.826.0.1.3680043.10.999.1')),
    el(0x0020, 0x000e, 'UI', uid('1.2.826.0.1.3680043.10.999.1.1')),
    ...(opts.extra ? [opts.extra] : []),
    el(0x0028, 0x0002, 'US', us(1)),
    el(0x0028, 0x0004, 'CS', str('MONOCHROME2')),
    opts.dimensionsAsUL ? el(0x0028, 0x0010, 'UL', ul(opts.rows)) : el(0x0028, 0x0010, 'US', us(opts.rows)),
    opts.dimensionsAsUL ? el(0x0028, 0x0011, 'UL', ul(opts.cols)) : el(0x0028, 0x0011, 'US', us(opts.cols)),
    el(0x0028, 0x0100, 'US', us(16)),
    el(0x0028, 0x0101, 'US', us(12)),
    el(0x0028, 0x0102, 'US', us(11)),
    el(0x0028, 0x0103, 'US', us(0)),
    pixelEl,
  ]);
}

/** A sequence nested `depth` deep (undefined lengths, as real files write them). */
export function nestedSequence(depth: number): Buffer {
  const itemStart = Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]);
  const itemEnd = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]);
  const seqEnd = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  const seqStart = Buffer.concat([Buffer.from([0x08, 0x00, 0x15, 0x11]), Buffer.from('SQ', 'latin1'), Buffer.from([0, 0, 0xff, 0xff, 0xff, 0xff])]);
  const parts: Buffer[] = [];
  for (let i = 0; i < depth; i++) parts.push(seqStart, itemStart);
  for (let i = 0; i < depth; i++) parts.push(itemEnd, seqEnd);
  return Buffer.concat(parts);
}

/** Every hostile case of the issue, by name, with a good file beside them. */
export function hostileFiles(): Record<string, Buffer> {
  const good = part10(imageBody({ rows: 8, cols: 8, sop: '1.2.826.0.1.3680043.10.999.2.1' }));
  return {
    'truncated.dcm': good.subarray(0, good.length - 40),
    'length-past-end.dcm': part10(imageBody({ rows: 8, cols: 8, sop: '1.2.826.0.1.3680043.10.999.2.2', pixelLength: 0x7ffffff0 })),
    'deep-sequences.dcm': part10(imageBody({ rows: 8, cols: 8, sop: '1.2.826.0.1.3680043.10.999.2.3', extra: nestedSequence(2000) })),
    'zero-by-zero.dcm': part10(imageBody({ rows: 0, cols: 0, sop: '1.2.826.0.1.3680043.10.999.2.4', pixels: Buffer.alloc(0) })),
    'huge-header.dcm': part10(imageBody({ rows: 65535, cols: 65535, sop: '1.2.826.0.1.3680043.10.999.2.5', pixels: Buffer.alloc(64) })),
    'hundred-thousand.dcm': part10(imageBody({ rows: 100000, cols: 100000, sop: '1.2.826.0.1.3680043.10.999.2.7', pixels: Buffer.alloc(64), dimensionsAsUL: true })),
    'not-dicom.dcm': Buffer.from('This is a text file with a .dcm name.\n'.repeat(20)),
    'deflate-bomb.dcm': part10(Buffer.concat([imageBody({ rows: 8, cols: 8, sop: '1.2.826.0.1.3680043.10.999.2.6' }), Buffer.alloc(64 * 1024 * 1024)]), '1.2.840.10008.1.2.1.99', true),
  };
}

/**
 * Where a stored blob's encrypted bytes are on disk, as the index says: a range of a pack file
 * (packs.ts), or a blob file of its own (the whole file).
 */
export function storedBlobRange(db: Db, blobFolder: string, hash: string): { file: string; offset: number; length: number } {
  const index = createDicomIndex(() => db);
  if (!index.hasBlob(hash)) throw new Error(`no blob row for ${hash}`);
  const packed = index.packedBlob(hash);
  if (packed) return { file: path.join(packFolder(blobFolder), packed.loc.pack), offset: packed.loc.offset, length: recordLength(packed.size) };
  const file = blobPath(blobFolder, hash);
  return { file, offset: 0, length: fs.statSync(file).size };
}

/** Changes a stored blob's encrypted bytes in place (`mutate` gets a copy of its record), as damage at rest would. */
export function damageStoredBlob(db: Db, blobFolder: string, hash: string, mutate: (record: Buffer) => void): void {
  const { file, offset, length } = storedBlobRange(db, blobFolder, hash);
  const fd = fs.openSync(file, 'r+');
  try {
    const record = Buffer.alloc(length);
    fs.readSync(fd, record, 0, length, offset);
    mutate(record);
    fs.writeSync(fd, record, 0, length, offset);
  } finally {
    fs.closeSync(fd);
  }
}
