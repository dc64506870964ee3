// The encrypted blob store: round trip, content addressing, tamper detection, and a full disk
// (a real 1 MiB tmpfs when this runs as root, else an injected ENOSPC) leaving nothing behind;
// the import's staged writes (encrypted in chunks, made durable later) in the same format.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { blobPath, closeStaged, createBlobStore, earlySyncQueue, makeDurable, makeDurableMany, prepareShardFolders, sha256Hex, stageBlobFile } from './blob-store';

const dirs: string[] = [];
const tmp = (): string => { const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-blobs-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

const listAll = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listAll(path.join(d, e.name)) : [path.join(d, e.name)]));

describe('blob store', () => {
  const kek = crypto.randomBytes(32);

  it('round-trips, names files by sha256, encrypts with a fresh IV each write', () => {
    const folder = tmp();
    const store = createBlobStore({ folder, kek: () => kek });
    const data = Buffer.from('PATIENT^SECRET '.repeat(100));
    const a = store.put(data);
    expect(a.hash).toBe(crypto.createHash('sha256').update(data).digest('hex'));
    expect(a.existed).toBe(false);
    expect(store.put(data).existed).toBe(true);
    expect(store.get(a.hash).equals(data)).toBe(true);
    const file = fs.readFileSync(blobPath(folder, a.hash));
    expect(file.includes(Buffer.from('PATIENT^SECRET'))).toBe(false);
    // Two stores writing the same content pick different IVs.
    const other = tmp();
    createBlobStore({ folder: other, kek: () => kek }).put(data);
    expect(fs.readFileSync(blobPath(other, a.hash)).subarray(4, 16).equals(file.subarray(4, 16))).toBe(false);
  });

  it('refuses a tampered, swapped or foreign-key blob', () => {
    const folder = tmp();
    const store = createBlobStore({ folder, kek: () => kek });
    const a = store.put(Buffer.from('one'));
    const b = store.put(Buffer.from('two'));
    const fa = blobPath(folder, a.hash);
    const bytes = fs.readFileSync(fa);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 1;
    fs.writeFileSync(fa, bytes);
    expect(() => store.get(a.hash)).toThrow(/integrity/);
    fs.copyFileSync(blobPath(folder, b.hash), fa); // right file under the wrong name
    expect(() => store.get(a.hash)).toThrow(WorkstationError);
    const stranger = createBlobStore({ folder, kek: () => crypto.randomBytes(32) });
    expect(() => stranger.get(b.hash)).toThrow(/integrity/);
  });

  it('a full disk gives a clear error and leaves no half-written file', () => {
    const folder = tmp();
    let mounted = false;
    if (process.getuid?.() === 0) {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', folder], { stdio: 'ignore' });
        mounted = true;
      } catch {
        mounted = false; // containers without CAP_SYS_ADMIN: fall back to injection below
      }
    }
    try {
      const big = crypto.randomBytes(3 * 1024 * 1024);
      let store = createBlobStore({ folder, kek: () => kek });
      if (!mounted) {
        let written = 0;
        store = createBlobStore({
          folder,
          kek: () => kek,
          io: { write: (fd, data, offset, length) => {
            if (written + length > 1024 * 1024) { const e = new Error('ENOSPC: no space left on device') as NodeJS.ErrnoException; e.code = 'ENOSPC'; throw e; }
            written += length;
            return fs.writeSync(fd, data, offset, length);
          } },
        });
      }
      let err: unknown;
      try { store.put(big); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(WorkstationError);
      expect((err as WorkstationError).code).toBe('UNAVAILABLE');
      expect((err as WorkstationError).message).toMatch(/full/);
      expect(listAll(folder)).toEqual([]);
      // Small blobs still fit afterwards.
      const small = store.put(Buffer.from('still works'));
      expect(store.get(small.hash).toString()).toBe('still works');
    } finally {
      if (mounted) execFileSync('umount', [folder]);
    }
  });

  it('a staged blob is written in the store format, and appears under its name only once durable', async () => {
    const folder = tmp();
    const store = createBlobStore({ folder, kek: () => kek });
    for (const size of [1000, 9 * 1024 * 1024 + 17]) { // one write, and the chunked path
      const bytes = crypto.randomBytes(size);
      const hash = sha256Hex(bytes);
      const staged = await stageBlobFile(folder, kek, hash, bytes);
      expect(staged.tmp).not.toBeNull();
      expect(fs.existsSync(staged.tmp!)).toBe(true);
      expect(store.has(hash)).toBe(false);
      await makeDurable(folder, staged);
      expect(fs.existsSync(staged.tmp!)).toBe(false);
      expect(Buffer.compare(store.get(hash), bytes)).toBe(0);
      // A second stage of the same content writes nothing.
      const again = await stageBlobFile(folder, kek, hash, bytes);
      expect(again.tmp).toBeNull();
      await makeDurable(folder, again);
    }
    expect(listAll(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The blob folder removed behind the thread's back (a restore) is made again.
    fs.rmSync(folder, { recursive: true, force: true });
    const bytes = Buffer.from('after the folder went away');
    const s2 = await stageBlobFile(folder, kek, sha256Hex(bytes), bytes);
    await makeDurable(folder, s2);
    expect(store.get(sha256Hex(bytes)).toString()).toBe('after the folder went away');
  });

  it('a full disk while staging gives the disk-full error and leaves no temp file', async () => {
    const folder = tmp();
    const big = crypto.randomBytes(6 * 1024 * 1024);
    let written = 0;
    const io = { write: (fd: number, data: Uint8Array, offset: number, length: number): number => {
      if (written + length > 5 * 1024 * 1024) { const e = new Error('ENOSPC: no space left on device') as NodeJS.ErrnoException; e.code = 'ENOSPC'; throw e; }
      written += length;
      return fs.writeSync(fd, data, offset, length);
    } };
    let err: unknown;
    try { await stageBlobFile(folder, kek, sha256Hex(big), big, io); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(WorkstationError);
    expect((err as WorkstationError).details?.reason).toBe('disk-full');
    expect(listAll(folder)).toEqual([]);
  });

  it('a large blob is synced while it is written, and its short writes go on where they stopped', async () => {
    const folder = tmp();
    const store = createBlobStore({ folder, kek: () => kek });
    const big = crypto.randomBytes(40 * 1024 * 1024 + 5);
    const syncs: number[] = [];
    let calls = 0;
    const io = {
      write: (fd: number, data: Uint8Array, offset: number, length: number): number => fs.writeSync(fd, data, offset, length),
      // At most 1 MiB a call, often in the middle of a buffer: the rest must follow, in order.
      writev: (fd: number, parts: Uint8Array[]): number => {
        calls++;
        let budget = 1024 * 1024 - (calls % 7) * 1013;
        const take: Uint8Array[] = [];
        for (const p of parts) {
          if (budget <= 0) break;
          take.push(p.subarray(0, Math.min(p.length, budget)));
          budget -= p.length;
        }
        return fs.writevSync(fd, take);
      },
      datasync: (fd: number, done: (err: NodeJS.ErrnoException | null) => void): void => {
        syncs.push(fs.fstatSync(fd).size);
        fs.fdatasync(fd, done);
      },
    };
    const staged = await stageBlobFile(folder, kek, sha256Hex(big), big, io);
    // Synced on the way (after 16 MiB and more were written), not only at the end.
    expect(syncs.length).toBeGreaterThanOrEqual(1);
    expect(syncs[0]).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(syncs[0]).toBeLessThan(big.length);
    await makeDurable(folder, staged);
    expect(Buffer.compare(store.get(sha256Hex(big)), big)).toBe(0);
  });

  it('a failed early sync of a large blob fails its stage (a later fsync might not report it) and leaves no temp file', async () => {
    const folder = tmp();
    const big = crypto.randomBytes(40 * 1024 * 1024);
    const io = {
      write: (fd: number, data: Uint8Array, offset: number, length: number): number => fs.writeSync(fd, data, offset, length),
      datasync: (_fd: number, done: (err: NodeJS.ErrnoException | null) => void): void => {
        setImmediate(() => done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
      },
    };
    const err = await stageBlobFile(folder, kek, sha256Hex(big), big, io).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkstationError);
    expect((err as WorkstationError).message).toMatch(/could not be written/);
    expect(listAll(folder)).toEqual([]);
  });

  it('a group of staged, closed blobs is made durable together; one that cannot be is reported and the rest are stored', async () => {
    const folder = tmp();
    const store = createBlobStore({ folder, kek: () => kek });
    prepareShardFolders(folder);
    expect(fs.readdirSync(folder)).toHaveLength(256);
    const contents = Array.from({ length: 40 }, (_, i) => Buffer.from(`blob number ${i} `.repeat(50 + i)));
    const staged = await Promise.all(contents.map(async (b) => closeStaged(await stageBlobFile(folder, kek, sha256Hex(b), b))));
    // Written and closed, not yet under their names: nothing may point at them yet.
    for (const s of staged) {
      expect(s.fd).toBeNull();
      expect(fs.existsSync(s.tmp!)).toBe(true);
      expect(store.has(s.hash)).toBe(false);
    }
    // One temp file lost before the group's sync (a sweep, a failing disk): that blob fails alone.
    fs.rmSync(staged[7]!.tmp!);
    // The same content twice in one group (two copies of a file in one import): one blob.
    const dup = await stageBlobFile(folder, kek, sha256Hex(contents[3]!), contents[3]!);
    const errors = await makeDurableMany(folder, [...staged, closeStaged(dup)]);
    expect(errors.map((e, i) => (e ? i : -1)).filter((i) => i >= 0)).toEqual([7]);
    expect(errors[7]).toBeInstanceOf(WorkstationError);
    expect(store.has(staged[7]!.hash)).toBe(false);
    contents.forEach((b, i) => {
      if (i !== 7) expect(Buffer.compare(store.get(sha256Hex(b)), b)).toBe(0);
    });
    expect(listAll(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The same content staged again after the group is durable writes nothing.
    expect((await stageBlobFile(folder, kek, sha256Hex(contents[0]!), contents[0]!)).tmp).toBeNull();
  });

  it('fsyncs started early are waited for by the group, and a blob whose early fsync failed is refused, not stored', async () => {
    const folder = tmp();
    const store = createBlobStore({ folder, kek: () => kek });
    prepareShardFolders(folder);
    const contents = Array.from({ length: 12 }, (_, i) => Buffer.from(`early blob ${i} `.repeat(80 + i)));
    const staged = await Promise.all(contents.map(async (b) => closeStaged(await stageBlobFile(folder, kek, sha256Hex(b), b))));
    // A temp file lost before its fsync: the early fsync says so.
    fs.rmSync(staged[2]!.tmp!);
    const syncEarly = earlySyncQueue(2);
    const started: (Promise<unknown> | undefined)[] = staged.map((s) => syncEarly(s));
    const results = await Promise.all(started);
    expect(results.map((r) => (r ? (r as { code?: string }).code : null))).toEqual(contents.map((_, i) => (i === 2 ? 'ENOENT' : null)));
    // An fsync that failed on a temp file still there (an I/O error): the group must not store it.
    started[5] = Promise.resolve(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    // And one whose fsync was not started early is synced by the group itself.
    started[9] = undefined;
    const errors = await makeDurableMany(folder, staged, started);
    expect(errors.map((e, i) => (e ? i : -1)).filter((i) => i >= 0)).toEqual([2, 5]);
    expect(errors[5]).toBeInstanceOf(WorkstationError);
    expect(store.has(staged[5]!.hash)).toBe(false);
    expect(store.has(staged[2]!.hash)).toBe(false);
    contents.forEach((b, i) => {
      if (i !== 2 && i !== 5) expect(Buffer.compare(store.get(sha256Hex(b)), b)).toBe(0);
    });
    expect(listAll(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
