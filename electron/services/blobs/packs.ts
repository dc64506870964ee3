// Pack files: small blobs (an MR or CT slice) are appended, each encrypted on its own exactly as a
// blob file is (MAGIC | IV | ciphertext | tag, its key and AAD bound to its hash), to a few large
// files under <blobs>/packs/ instead of one file each. Creating a file costs far more than writing
// a slice (on this ext4, 0.25-0.5 ms of kernel time per file after deletions, against the
// microseconds of a 30 KB write), and a batch of 1,000 slices then needs one fsync, not 1,000 fsyncs,
// 1,000 renames and a folder fsync each. The index row of a blob holds its pack and offset; the
// row is written only after the pack is fsynced, so a crash leaves at most unreferenced bytes
// at a pack's end, never a row pointing at bytes that are not on disk.
// Large blobs (a multi-frame file) stay one file each (blob-store.ts): streamed in chunks, never
// held twice in memory.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import { BLOB_OVERHEAD, decryptBlob } from './blob-crypto';
import { missingBlob, writeError } from './errors';

/** Blobs of at most this many bytes (plaintext) go into packs; larger ones get a file of their own. */
export const PACK_MAX_BLOB_BYTES = 1024 * 1024;
/** A pack is closed for appends at this size and the next one started. */
const PACK_ROLL_BYTES = 1024 ** 3;
const PACK_NAME_RE = /^[0-9a-z]{10,40}\.pack$/;

/** Where a packed blob is: its pack file (a name in <blobs>/packs/) and the offset of its record. */
export interface PackLocation {
  pack: string;
  offset: number;
}

/** A packed blob as the index knows it: its plaintext size (which gives its record's length) and where it is. */
export interface PackedBlob {
  size: number;
  loc: PackLocation;
}

export function packFolder(blobFolder: string): string {
  return path.join(blobFolder, 'packs');
}

function packPath(blobFolder: string, pack: string): string {
  if (!PACK_NAME_RE.test(pack)) throw new WorkstationError('INTERNAL', 'A stored image points at a pack file with an invalid name. Restore the data folder from a backup.', { details: { pack } });
  return path.join(packFolder(blobFolder), pack);
}

/** The record length of a blob of `size` plaintext bytes. */
export const recordLength = (size: number): number => size + BLOB_OVERHEAD;

/** Reads, authenticates and decrypts one packed blob (any thread). */
export function readPacked(blobFolder: string, kek: Buffer, hash: string, { size, loc }: PackedBlob): Buffer {
  const length = recordLength(size);
  const buf = Buffer.allocUnsafe(length);
  let fd: number;
  try {
    fd = fs.openSync(packPath(blobFolder, loc.pack), 'r');
  } catch (err) {
    if (err instanceof WorkstationError) throw err;
    throw missingBlob(hash, err);
  }
  let got = 0;
  try {
    while (got < length) {
      const n = fs.readSync(fd, buf, got, length - got, loc.offset + got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  if (got < length) throw new WorkstationError('INTERNAL', 'A stored image file is cut short (the pack file ends early). Restore the data folder from a backup.', { details: { hash } });
  return decryptBlob(kek, hash, buf);
}

/** Low-level pack I/O, injectable so a test can fail a write or an fsync. */
export interface PackIo {
  writev(fd: number, buffers: Uint8Array[], position: number, cb: (err: NodeJS.ErrnoException | null, written: number) => void): void;
  fsync(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
}
const realIo: PackIo = {
  writev: (fd, buffers, position, cb) => fs.writev(fd, buffers, position, cb),
  fsync: (fd, cb) => fs.fsync(fd, cb),
};

interface OpenPack {
  name: string;
  fd: number;
  size: number;
  /** Writes issued to it and not yet finished. */
  writes: Set<Promise<unknown>>;
  /** Its name is durable in the packs folder. */
  folderSynced: boolean;
  /** Records waiting for the write in flight (contiguous, in order). */
  queue: { parts: readonly Uint8Array[]; length: number; position: number; done(err: unknown): void }[];
  writing: boolean;
  /** Bytes from the start known to be on disk (a sync covered them). */
  durable: number;
  /** Syncs of it in progress (two imports may sync at once): it is closed only when none is. */
  syncing: number;
  /** Bytes written since the last fsync was started, and the early one running (waited for before close). */
  unsynced: number;
  earlySync: Promise<void> | null;
  /**
   * The first fsync error of this pack. Linux reports a write-back error to one fsync only, so a
   * later fsync may succeed over lost data: once one failed, every later sync of the pack fails
   * too, and new records go to a new pack.
   */
  broken: unknown;
}

/**
 * Once this many bytes are written to a pack and not yet synced, an fsync starts on its own, so
 * that a batch's sync before its commit finds little left to write: the import's last batch
 * then waits for a few MB, not for everything it wrote.
 */
const EARLY_SYNC_BYTES = 4 * 1024 * 1024;

/** Records per writev: at most three buffers each (sealedParts), within the system's IOV_MAX of 1024. */
const WRITEV_MAX = 256;

/** A pending append: its place, and its write (null once on disk's page cache, else the error). */
export interface PackAppend {
  loc: PackLocation;
  written: Promise<WorkstationError | null>;
}

export interface PackWriter {
  /**
   * Appends one encrypted record (encryptBlob's layout, in one buffer or in parts written one
   * after the other, as sealedParts gives them) to the current pack: its place is fixed now, its
   * write runs on the I/O threads. The record must not be changed until `written`.
   */
  append(record: Uint8Array | readonly Uint8Array[]): PackAppend;
  /**
   * Makes the appends to these packs durable: waits for their writes, fsyncs each pack (and,
   * once per new pack, the packs folder). Resolves with the error, or null when they are on
   * disk: only then may index rows point at them.
   */
  sync(packs: Iterable<string>): Promise<WorkstationError | null>;
  /** Bytes handed to append whose writes are not finished (held in memory meanwhile). */
  pendingBytes(): number;
  /** Resolves when a write in flight finishes (at once when none is). */
  writeFinished(): Promise<void>;
  /** Closes the packs (after their writes); appends after this fail. */
  close(): Promise<void>;
}

/**
 * The pack writer of one data folder; used by one thread (the main thread's import pipeline).
 * `rollBytes`: the size at which a pack is closed for appends (tests make it small).
 */
export function createPackWriter(blobFolder: string, io: PackIo = realIo, { rollBytes = PACK_ROLL_BYTES }: { rollBytes?: number } = {}): PackWriter {
  const folder = packFolder(blobFolder);
  const packs = new Map<string, OpenPack>();
  // Packs closed for appends whose every byte was synced, their files closed: a later sync that
  // names one (a batch with records from before the roll) has nothing left to do.
  const retired = new Set<string>();
  let current: OpenPack | null = null;
  let pending = 0;
  let closed = false;
  let waiters: (() => void)[] = [];

  // Folders this writer made (the packs folder, and the blobs folder of a new data folder): their
  // entries must reach the disk too before a row points into them, once.
  let madeFolders: string[] = [];
  const open = (): OpenPack => {
    const first = fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (first) {
      for (let d = folder; ; d = path.dirname(d)) {
        madeFolders.push(path.dirname(d));
        if (d === first || path.dirname(d) === d) break;
      }
    }
    // Time first, so the names sort in the order the packs were started.
    const name = `${Date.now().toString(36)}${crypto.randomBytes(6).toString('hex')}.pack`;
    const fd = fs.openSync(path.join(folder, name), 'wx', 0o600);
    const p: OpenPack = { name, fd, size: 0, durable: 0, syncing: 0, writes: new Set(), folderSynced: false, queue: [], writing: false, unsynced: 0, earlySync: null, broken: null };
    packs.set(name, p);
    return p;
  };

  // One write in flight per pack: the records that arrive meanwhile are contiguous, and go in one
  // writev when it is done (a write each would wake an I/O thread per slice).
  const flushQueue = (p: OpenPack): void => {
    if (p.writing || !p.queue.length) return;
    const batch = p.queue.splice(0, WRITEV_MAX);
    p.writing = true;
    const position = batch[0]!.position;
    const done = (err: unknown): void => {
      p.writing = false;
      for (const q of batch) q.done(err);
      flushQueue(p);
      if (!err) {
        p.unsynced += batch.reduce((n, q) => n + q.length, 0);
        if (p.unsynced >= EARLY_SYNC_BYTES && !p.earlySync) {
          // A head start for the batch's own sync; a failure here fails that sync (breakPack).
          p.unsynced = 0;
          const started = new Promise<void>((resolve) => io.fsync(p.fd, (err) => { if (err) breakPack(p, err); resolve(); }));
          p.earlySync = started;
          void started.then(() => { if (p.earlySync === started) p.earlySync = null; });
        }
      }
    };
    const step = (bufs: Uint8Array[], at: number): void => {
      io.writev(p.fd, bufs, at, (err, n) => {
        if (err) return done(err);
        if (n <= 0) return done(Object.assign(new Error('short write'), { code: 'EIO' }));
        // A short write: go on from where it stopped.
        let left = n;
        let k = 0;
        while (k < bufs.length && left >= bufs[k]!.length) left -= bufs[k++]!.length;
        if (k >= bufs.length) return done(null);
        step([bufs[k]!.subarray(left), ...bufs.slice(k + 1)], at + n);
      });
    };
    step(batch.flatMap((q) => q.parts), position);
  };

  const fsync = (fd: number): Promise<void> => new Promise((resolve, reject) => io.fsync(fd, (err) => (err ? reject(err) : resolve())));
  const breakPack = (p: OpenPack, err: unknown): void => {
    p.broken ??= err;
    if (current === p) current = null;
  };

  return {
    append(record) {
      const parts = record instanceof Uint8Array ? [record] : record;
      const length = parts.reduce((n, b) => n + b.length, 0);
      if (closed) throw new WorkstationError('UNAVAILABLE', 'The DICOM service is shutting down.');
      if (!current || current.size + length > rollBytes || current.broken) {
        try {
          current = open();
        } catch (err) {
          const e = writeError(blobFolder, err);
          return { loc: { pack: '', offset: 0 }, written: Promise.resolve(e) };
        }
      }
      const p = current;
      const offset = p.size;
      p.size += length;
      pending += length;
      const w = new Promise<WorkstationError | null>((resolve) => {
        p.queue.push({ parts, length, position: offset, done: (err) => resolve(err ? writeError(blobFolder, err) : null) });
        flushQueue(p);
      });
      const tracked = w.finally(() => {
        p.writes.delete(tracked);
        pending -= length;
        const ws = waiters;
        waiters = [];
        for (const r of ws) r();
      });
      p.writes.add(tracked);
      return { loc: { pack: p.name, offset }, written: w };
    },
    async sync(packNames) {
      const names = [...new Set(packNames)];
      try {
        let folderDirty = false;
        await Promise.all(names.map(async (name) => {
          if (retired.has(name)) return;
          const p = packs.get(name);
          if (!p) throw new Error(`pack ${name} is not open`);
          // Every append so far is in p.writes: once they are done, the fsync covers `upTo` bytes.
          const upTo = p.size;
          p.syncing++;
          try {
            await Promise.all([...p.writes]);
            p.unsynced = 0;
            if (!p.broken) await fsync(p.fd).catch((err: unknown) => breakPack(p, err));
          } finally {
            p.syncing--;
          }
          if (p.broken) throw p.broken;
          p.durable = Math.max(p.durable, upTo);
          if (!p.folderSynced) folderDirty = true;
        }));
        if (folderDirty) {
          // A new pack's name (and any folder made for it) must reach the disk before a row points into it.
          for (const dir of [folder, ...madeFolders]) {
            const fd = fs.openSync(dir, 'r');
            try {
              await fsync(fd);
            } finally {
              fs.closeSync(fd);
            }
          }
          madeFolders = [];
          for (const name of names) {
            const p = packs.get(name);
            if (p) p.folderSynced = true;
          }
        }
        // A pack that no longer takes appends (rolled, not broken) and is now wholly on disk is
        // closed: a long session would otherwise keep a file open per GiB imported.
        for (const name of names) {
          const p = packs.get(name);
          if (!p || p === current || p.broken || p.durable < p.size || p.writes.size || p.syncing || p.earlySync || !p.folderSynced) continue;
          packs.delete(name);
          retired.add(name);
          try { fs.closeSync(p.fd); } catch { /* already closed */ }
        }
        return null;
      } catch (err) {
        return writeError(blobFolder, err);
      }
    },
    pendingBytes: () => pending,
    writeFinished: () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    async close() {
      closed = true;
      const all = [...packs.values()];
      packs.clear();
      current = null;
      for (const p of all) {
        await Promise.all([...p.writes]);
        await p.earlySync;
        try { fs.closeSync(p.fd); } catch { /* already closed */ }
      }
    },
  };
}
