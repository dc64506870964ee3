// Pack files: records appended concurrently land whole at their offsets (even through short
// writes), a failed write or fsync is reported for what it concerns, and a record changed at
// rest, read under another blob's hash, cut short or named outside the packs folder is refused
// with a clear error while its neighbours still read.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { decryptBlob, encryptBlob, ownsBuffer, sealBlob, sealedParts, sha256Hex } from './blob-crypto';
import { createPackWriter, packFolder, readPacked, recordLength, type PackIo, type PackLocation } from './packs';
import { tempFolders } from '../../testing/temp';

const kek = crypto.randomBytes(32);
const tmp = tempFolders('tp-packs-');

/** `n` blobs of different sizes, each with its encrypted record: in one buffer, or (every other one, `parts`) sealed in parts as the import worker gives them. */
function blobs(n: number, parts = false): { plain: Buffer; hash: string; record: Uint8Array | Uint8Array[]; length: number }[] {
  return Array.from({ length: n }, (_, i) => {
    const plain = crypto.randomBytes(100 + i * 997);
    const hash = sha256Hex(plain);
    if (parts && i % 2) {
      return { plain, hash, record: sealedParts(sealBlob(kek, hash, plain)), length: recordLength(plain.length) };
    }
    const record = encryptBlob(kek, hash, plain);
    return { plain, hash, record, length: record.length };
  });
}

const realFs: PackIo = { writev: (fd, b, p, cb) => fs.writev(fd, b, p, cb), fsync: (fd, cb) => fs.fsync(fd, cb) };

async function appendAll(folder: string, items: { record: Uint8Array | Uint8Array[] }[], io: PackIo = realFs): Promise<PackLocation[]> {
  const w = createPackWriter(folder, io);
  const appends = items.map((b) => w.append(b.record));
  expect(await Promise.all(appends.map((a) => a.written))).toEqual(items.map(() => null));
  expect(await w.sync(appends.map((a) => a.loc.pack))).toBeNull();
  expect(w.pendingBytes()).toBe(0);
  await w.close();
  return appends.map((a) => a.loc);
}

describe('pack files', () => {
  it('records appended at once, in one buffer or in parts, land whole at their offsets, through short writes too, in one file', async () => {
    const folder = tmp();
    const items = blobs(40, true);
    // A disk that writes at most 1000 bytes per call: every record is split over several writes.
    const short: PackIo = { writev: (fd, bufs, pos, cb) => fs.write(fd, bufs[0]!, 0, Math.min(1000, bufs[0]!.length), pos, cb), fsync: realFs.fsync };
    const locs = await appendAll(folder, items, short);
    expect(new Set(locs.map((l) => l.pack)).size).toBe(1);
    expect(fs.readdirSync(packFolder(folder))).toHaveLength(1);
    items.forEach((b, i) => expect(readPacked(folder, kek, b.hash, { size: b.plain.length, loc: locs[i]! }).equals(b.plain)).toBe(true));
    const total = items.reduce((n, b) => n + b.length, 0);
    expect(fs.statSync(path.join(packFolder(folder), locs[0]!.pack)).size).toBe(total);
  });

  it('a failed write is reported for its record only as a full disk; a failed fsync fails the sync', async () => {
    const folder = tmp();
    const items = blobs(3);
    let calls = 0;
    const full: PackIo = {
      writev: (fd, bufs, pos, cb) => (++calls === 1 ? cb(Object.assign(new Error('no space'), { code: 'ENOSPC' }), 0) : fs.writev(fd, bufs, pos, cb)),
      fsync: realFs.fsync,
    };
    const w = createPackWriter(folder, full);
    const first = w.append(items[0]!.record);
    const err = await first.written;
    expect(err).toBeInstanceOf(WorkstationError);
    expect(err?.details?.reason).toBe('disk-full');
    expect(err?.message).toMatch(/full/);
    const second = w.append(items[1]!.record);
    expect(await second.written).toBeNull();
    expect(await w.sync([second.loc.pack])).toBeNull();
    expect(readPacked(folder, kek, items[1]!.hash, { size: items[1]!.plain.length, loc: second.loc }).equals(items[1]!.plain)).toBe(true);
    await w.close();

    // One fsync fails (as Linux reports a lost write-back once): that sync fails, and so does every
    // later sync of the same pack, though its next fsync would succeed; new records go elsewhere.
    let failNext = true;
    const failing = createPackWriter(folder, { writev: realFs.writev, fsync: (fd, cb) => (failNext ? ((failNext = false), cb(Object.assign(new Error('io error'), { code: 'EIO' }))) : fs.fsync(fd, cb)) });
    const a = failing.append(items[2]!.record);
    expect(await a.written).toBeNull();
    const syncErr = await failing.sync([a.loc.pack]);
    expect(syncErr).toBeInstanceOf(WorkstationError);
    expect(syncErr?.code).toBe('UNAVAILABLE');
    expect(await failing.sync([a.loc.pack])).toBeInstanceOf(WorkstationError);
    const b = failing.append(items[0]!.record);
    expect(b.loc.pack).not.toBe(a.loc.pack);
    expect(await b.written).toBeNull();
    expect(await failing.sync([b.loc.pack])).toBeNull();
    await failing.close();
  });

  it('starts an fsync on its own once a few MB are written, before the batch asks for its sync', async () => {
    const folder = tmp();
    const fsyncs: number[] = [];
    const counting: PackIo = { writev: realFs.writev, fsync: (fd, cb) => { fsyncs.push(fd); fs.fsync(fd, cb); } };
    const w = createPackWriter(folder, counting);
    const record = Buffer.alloc(512 * 1024, 1);
    const appends = Array.from({ length: 12 }, () => w.append(record)); // 6 MiB
    await Promise.all(appends.map((a) => a.written));
    expect(fsyncs.length).toBeGreaterThanOrEqual(1);
    expect(await w.sync([appends[0]!.loc.pack])).toBeNull();
    await w.close();
    // Few bytes: no fsync until the sync.
    const small = createPackWriter(tmp(), counting);
    fsyncs.length = 0;
    const a = small.append(Buffer.alloc(1000, 2));
    await a.written;
    expect(fsyncs).toEqual([]);
    await small.close();
  });

  it('a record changed at rest, read under another hash, cut short or named outside the packs folder is refused; its neighbours still read', async () => {
    const folder = tmp();
    const items = blobs(3);
    const locs = await appendAll(folder, items);
    const file = path.join(packFolder(folder), locs[0]!.pack);
    const bytes = fs.readFileSync(file);
    bytes[locs[1]!.offset + 40]! ^= 0x01; // one bit of the middle record's ciphertext
    fs.writeFileSync(file, bytes);
    expect(() => readPacked(folder, kek, items[1]!.hash, { size: items[1]!.plain.length, loc: locs[1]! })).toThrow(/integrity check/);
    expect(readPacked(folder, kek, items[0]!.hash, { size: items[0]!.plain.length, loc: locs[0]! }).equals(items[0]!.plain)).toBe(true);
    expect(readPacked(folder, kek, items[2]!.hash, { size: items[2]!.plain.length, loc: locs[2]! }).equals(items[2]!.plain)).toBe(true);
    // A row pointing at another blob's record (same length) fails its tag: the AAD binds the hash.
    const twin = crypto.randomBytes(items[0]!.plain.length);
    expect(() => readPacked(folder, kek, sha256Hex(twin), { size: twin.length, loc: locs[0]! })).toThrow(/integrity check/);
    fs.truncateSync(file, locs[2]!.offset + 10);
    expect(() => readPacked(folder, kek, items[2]!.hash, { size: items[2]!.plain.length, loc: locs[2]! })).toThrow(/cut short/);
    for (const pack of ['../../etc/passwd', 'x.pack', '../packs/' + locs[0]!.pack]) {
      expect(() => readPacked(folder, kek, items[0]!.hash, { size: items[0]!.plain.length, loc: { pack, offset: 0 } })).toThrow(/invalid name/);
    }
  });

  it('a sealed record is the blob-file layout in two buffers of their own, which can be moved to another thread and still decrypt', () => {
    const plain = crypto.randomBytes(29_070);
    const hash = sha256Hex(plain);
    const sealed = sealBlob(kek, hash, plain);
    expect(sealed.frame.length).toBe(32);
    expect(ownsBuffer(sealed.frame) && ownsBuffer(sealed.body)).toBe(true);
    const moved = structuredClone(sealed, { transfer: [sealed.frame.buffer as ArrayBuffer, sealed.body.buffer as ArrayBuffer] });
    expect(sealed.body.byteLength).toBe(0); // detached here: moved, not copied
    expect(decryptBlob(kek, hash, Buffer.concat(sealedParts(moved))).equals(plain)).toBe(true);
    // Each seal has its own IV.
    const again = sealBlob(kek, hash, plain);
    expect(Buffer.from(again.frame.subarray(4, 16)).equals(Buffer.from(moved.frame.subarray(4, 16)))).toBe(false);
    expect(sealBlob(kek, sha256Hex(Buffer.alloc(0)), Buffer.alloc(0)).body.length).toBe(0);
  });

  it('a pack that rolled over is closed once all of it is synced; a later sync that names it still succeeds, and its records read', async () => {
    const folder = tmp();
    const items = blobs(12); // 100 B to 11 KB each
    const openPackFds = (): number => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try { return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(packFolder(folder)); } catch { return false; }
    }).length;
    const w = createPackWriter(folder, realFs, { rollBytes: 4 * 1024 });
    const first = items.slice(0, 6).map((b) => w.append(b.record));
    const packsOfFirst = [...new Set(first.map((a) => a.loc.pack))];
    expect(packsOfFirst.length).toBeGreaterThan(1);
    expect(await w.sync(packsOfFirst)).toBeNull();
    const second = items.slice(6).map((b) => w.append(b.record));
    // The second batch names a rolled pack again (as a batch with records from before a roll does).
    expect(await w.sync([...packsOfFirst, ...second.map((a) => a.loc.pack)])).toBeNull();
    const packs = new Set([...first, ...second].map((a) => a.loc.pack));
    expect(packs.size).toBeGreaterThan(3);
    expect(openPackFds()).toBe(1); // the current pack only
    [...first, ...second].forEach((a, i) => expect(readPacked(folder, kek, items[i]!.hash, { size: items[i]!.plain.length, loc: a.loc }).equals(items[i]!.plain)).toBe(true));
    await w.close();
    expect(openPackFds()).toBe(0);

    // A record appended to a pack while its sync runs, just before the pack rolls over, is not
    // covered by that sync: the pack stays open until a sync that covers it.
    // Its fsyncs, once armed, hold back the second one (so two syncs overlap for certain).
    let fsyncsSinceArmed = -1;
    const slowSecond: PackIo = {
      writev: realFs.writev,
      fsync: (fd, cb) => (fsyncsSinceArmed >= 0 && ++fsyncsSinceArmed === 2 ? void setTimeout(() => fs.fsync(fd, cb), 30) : fs.fsync(fd, cb)),
    };
    const racing = createPackWriter(folder, slowSecond, { rollBytes: 4096 });
    const a = racing.append(Buffer.alloc(1000, 1));
    const syncing = racing.sync([a.loc.pack]);
    const b = racing.append(Buffer.alloc(1000, 2));
    const c = racing.append(Buffer.alloc(3000, 3));
    expect(b.loc.pack).toBe(a.loc.pack);
    expect(c.loc.pack).not.toBe(a.loc.pack);
    expect(await syncing).toBeNull();
    await Promise.all([b.written, c.written]);
    expect(openPackFds()).toBe(2);
    // Two imports syncing the same rolled pack at once: both succeed (neither closes it under the other).
    fsyncsSinceArmed = 0;
    expect(await Promise.all([racing.sync([b.loc.pack]), racing.sync([b.loc.pack, c.loc.pack])])).toEqual([null, null]);
    expect(openPackFds()).toBe(1);
    await racing.close();
  });
});
