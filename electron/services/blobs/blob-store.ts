// The encrypted, content-addressed blob store under <data>/blobs/: AES-256-GCM files named by
// the sha256 of their plaintext, written temp + fsync + rename so a crash never leaves half a file.
// Small blobs are appended to pack files instead (packs.ts); this store reads both.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import { BLOB_MAGIC, IV_BYTES, aad, blobKey, decryptBlob, encryptBlob, sha256Hex } from './blob-crypto';
import { missingBlob, writeError } from './errors';
import { readPacked, type PackedBlob } from './packs';

export { BLOB_MAGIC, BLOB_OVERHEAD, blobKey, decryptBlob, encryptBlob, ownsBuffer, sealBlob, sealedParts, sha256Hex } from './blob-crypto';
export type { SealedBlob } from './blob-crypto';

const HASH_RE = /^[0-9a-f]{64}$/;

/** Low-level writes, injectable so a test can simulate a disk that fills up mid-write. */
export interface BlobIo {
  write(fd: number, data: Uint8Array, offset: number, length: number): number;
  /** Several buffers in one call (bytes written); without it, the staging writes them one by one. */
  writev?(fd: number, parts: Uint8Array[]): number;
  /** fdatasync on the I/O threads (the early syncs of a large blob); without it, fs.fdatasync. */
  datasync?(fd: number, done: (err: NodeJS.ErrnoException | null) => void): void;
}
const realIo: BlobIo = {
  write: (fd, data, offset, length) => fs.writeSync(fd, data, offset, length),
  writev: (fd, parts) => fs.writevSync(fd, parts),
};

export function blobPath(folder: string, hash: string): string {
  if (!HASH_RE.test(hash)) throw new WorkstationError('INVALID_INPUT', 'That is not a valid image reference.');
  return path.join(folder, hash.slice(0, 2), hash);
}

/**
 * Writes one encrypted blob if it is not there yet. Synchronous on purpose: it runs in the import
 * worker, and a single fsync'd rename is the unit of durability.
 */
export function writeBlobFile(folder: string, hash: string, encrypted: Uint8Array, io: BlobIo = realIo): { existed: boolean } {
  const final = blobPath(folder, hash);
  if (fs.existsSync(final)) return { existed: true };
  const dir = path.dirname(final);
  const tmp = path.join(dir, `.${hash}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fd = fs.openSync(tmp, 'wx', 0o600);
    let off = 0;
    while (off < encrypted.length) off += io.write(fd, encrypted, off, encrypted.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, final);
    // The rename itself must reach the disk before the index row that points at it.
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
    return { existed: false };
  } catch (err) {
    if (fd !== null) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.rmSync(tmp, { force: true }); } catch { /* best effort: the sweep removes it later */ }
    throw writeError(folder, err);
  }
}

/**
 * A blob encrypted into a temp file beside its final name but not yet durable. The import
 * workers stage a file (the CPU work), go on with the next one, and make the staged ones durable
 * meanwhile on the I/O threads (makeDurable), many at once, so concurrent fsyncs share the file
 * system's journal commits instead of paying two each in turn. `tmp` is null when the blob was
 * already there. `fd` is the temp file, still open: makeDurable must run in the same thread
 * (Node closes the descriptors a worker opened when the worker exits).
 */
export interface StagedBlob {
  hash: string;
  tmp: string | null;
  fd: number | null;
  final: string;
  dir: string;
}

/** A blob up to this size is encrypted and written in one piece; a larger one in the chunks below. */
const STAGE_CHUNK = 4 * 1024 * 1024;
/**
 * A large blob is encrypted this much at a time. Each cipher.update returns a new buffer: 4 MB
 * ones came from fresh memory each time (malloc maps them), and the page faults of 100 MB of
 * output cost as much as the AES-GCM itself (100 MB here: 140-170 ms in 4 MB pieces against
 * 65 ms in 64 KB ones, which the allocator reuses). The pieces are written STAGE_CHUNK at a time
 * with one writev.
 */
const CIPHER_PIECE = 64 * 1024;
/**
 * While a large blob is written, its data is sent to the disk every this many bytes (an fdatasync
 * on the I/O threads, one at a time, never waited for by the encryption), so the disk writes while
 * the CPU encrypts the rest and the fsync before the file's commit finds little left to do. Written
 * first and synced after (makeDurable), 100 MB took 320-510 ms here; synced as it went, 220-320 ms.
 */
const EARLY_SYNC_BYTES = 16 * 1024 * 1024;
/** Folders this thread has made or seen (a mkdir per file costs more than the write of a small one). */
const knownDirs = new Set<string>();

const writevAll = (io: BlobIo, fd: number, parts: Uint8Array[]): void => {
  if (io.writev) {
    let left = parts.reduce((n, p) => n + p.length, 0);
    let rest = parts;
    while (left > 0) {
      let n = io.writev(fd, rest);
      left -= n;
      // A short write (rare: a signal, a nearly full disk): go on from where it stopped.
      while (rest.length && n >= rest[0]!.length) { n -= rest[0]!.length; rest = rest.slice(1); }
      if (n > 0) rest = [rest[0]!.subarray(n), ...rest.slice(1)];
    }
    return;
  }
  for (const data of parts) {
    let off = 0;
    while (off < data.length) off += io.write(fd, data, off, data.length - off);
  }
};

/**
 * Encrypts `plaintext` (whose sha256 is `hash`) into a temp file, in chunks, so no second copy of
 * a large file is ever held: MAGIC | IV | ciphertext | tag, the same layout as encryptBlob. The
 * file is left open (makeDurable syncs and closes it; closeStaged closes it for a later group
 * sync). A large blob is sent to the disk as it is written (EARLY_SYNC_BYTES); a failure of those
 * syncs fails the stage, since a later fsync on another descriptor may no longer report it.
 */
export async function stageBlobFile(folder: string, kek: Buffer, hash: string, plaintext: Uint8Array, io: BlobIo = realIo): Promise<StagedBlob> {
  const final = blobPath(folder, hash);
  const dir = path.dirname(final);
  if (fs.existsSync(final)) return { hash, tmp: null, fd: null, final, dir };
  const tmp = path.join(dir, `.${hash}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  let syncing: Promise<unknown> | null = null;
  try {
    if (!knownDirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      knownDirs.add(dir);
    }
    try {
      fd = fs.openSync(tmp, 'wx', 0o600);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      // The folder went away since this thread saw it (a restore, a cleanup): make it again.
      knownDirs.delete(dir);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      knownDirs.add(dir);
      fd = fs.openSync(tmp, 'wx', 0o600);
    }
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', blobKey(kek, hash), iv);
    cipher.setAAD(aad(hash));
    if (plaintext.length <= STAGE_CHUNK) {
      // One write for a small file.
      const body = cipher.update(plaintext);
      cipher.final();
      writevAll(io, fd, [Buffer.concat([BLOB_MAGIC, iv, body, cipher.getAuthTag()])]);
    } else {
      const openFd = fd;
      let syncDone = true;
      let syncError: unknown = null;
      let parts: Uint8Array[] = [BLOB_MAGIC, iv];
      let partBytes = 0;
      let unsynced = 0;
      for (let off = 0; off < plaintext.length; off += CIPHER_PIECE) {
        const piece = cipher.update(plaintext.subarray(off, off + CIPHER_PIECE));
        parts.push(piece);
        partBytes += piece.length;
        if (partBytes < STAGE_CHUNK) continue;
        writevAll(io, openFd, parts);
        unsynced += partBytes;
        parts = [];
        partBytes = 0;
        if (unsynced < EARLY_SYNC_BYTES) continue;
        // A turn of the event loop (microseconds) lets a finished sync report; the next starts only then.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (syncError) throw syncError;
        if (!syncDone) continue;
        unsynced = 0;
        syncDone = false;
        syncing = new Promise<void>((resolve) => (io.datasync ?? fs.fdatasync)(openFd, (err) => {
          if (err) syncError ??= err;
          syncDone = true;
          resolve();
        }));
      }
      parts.push(cipher.final(), cipher.getAuthTag());
      writevAll(io, openFd, parts);
      // The descriptor stays open until its last early sync is back (it may be closed next).
      if (syncing) await syncing;
      syncing = null;
      if (syncError) throw syncError;
    }
    return { hash, tmp, fd, final, dir };
  } catch (err) {
    if (syncing) await syncing;
    if (fd !== null) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.rmSync(tmp, { force: true }); } catch { /* best effort: the sweep removes it later */ }
    if ((err as { code?: string }).code === 'ENOENT') knownDirs.delete(dir);
    throw writeError(folder, err);
  }
}

const callback = (f: (cb: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => f((err) => (err ? reject(err) : resolve())));

/**
 * fsync of folders, coalesced: a caller whose rename is done joins a folder sync not yet issued,
 * so a burst of files in one folder costs one fsync of it, not one each, and still every rename
 * is followed by a folder fsync issued after it.
 */
const folderSyncs = new Map<string, Promise<void>>();
function syncFolder(dir: string): Promise<void> {
  const waiting = folderSyncs.get(dir);
  if (waiting) return waiting;
  const p = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
    folderSyncs.delete(dir); // issued now: later renames need a sync of their own
    const fh = await fs.promises.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
  folderSyncs.set(dir, p);
  return p;
}

/**
 * Makes a staged blob durable without blocking the thread (the I/O threads wait): fsync of the
 * temp file, its rename to the final name, and an fsync of the folder so the rename reaches the
 * disk before an index row points at the blob.
 */
export async function makeDurable(folder: string, staged: StagedBlob): Promise<void> {
  if (staged.tmp === null) return;
  const fd = staged.fd;
  staged.fd = null;
  try {
    if (fd === null) throw new Error('the staged blob is no longer open');
    try {
      await callback((cb) => fs.fsync(fd, cb));
    } finally {
      await callback((cb) => fs.close(fd, cb)).catch(() => undefined);
    }
    await fs.promises.rename(staged.tmp, staged.final);
    await syncFolder(staged.dir);
  } catch (err) {
    await fs.promises.rm(staged.tmp, { force: true }).catch(() => undefined);
    throw writeError(folder, err);
  }
}

/** A staged blob whose temp file is written and closed, made durable later by any thread (makeDurableMany). */
export type ClosedStagedBlob = Omit<StagedBlob, 'fd'> & { fd: null };

/**
 * Closes a staged blob's temp file (fully written) without syncing it, so that it can be made
 * durable later, in a group, by any thread: the import pipeline makes a whole batch durable
 * just before the batch's index commit.
 */
export function closeStaged(staged: StagedBlob): ClosedStagedBlob {
  const fd = staged.fd;
  staged.fd = null;
  if (fd !== null) {
    try {
      fs.closeSync(fd);
    } catch (err) {
      try { fs.rmSync(staged.tmp!, { force: true }); } catch { /* best effort: the sweep removes it later */ }
      throw writeError(path.dirname(staged.dir), err);
    }
  }
  return { ...staged, fd: null };
}

/** How many fsyncs the group durability keeps queued at once (the I/O threads run 4 of them). */
const GROUP_SYNC_CONCURRENCY = 16;

/** fsync of a staged, closed temp file (open, fsync, close on the I/O threads); resolves with the error, or null. */
function syncTemp(s: ClosedStagedBlob): Promise<unknown> {
  return new Promise((resolve) => {
    fs.open(s.tmp!, 'r+', (err, fd) => {
      if (err) return resolve(err);
      fs.fsync(fd, (syncErr) => fs.close(fd, () => resolve(syncErr ?? null)));
    });
  });
}

/** The fsync of a staged blob's temp file, started early (earlySyncQueue): resolves with null once it is on disk, else with the error. */
export type EarlySync = Promise<unknown>;

/**
 * Starts the fsync of staged, closed temp files as they come back from the workers, at most
 * `concurrency` at a time, so that when their group is made durable (makeDurableMany, given these
 * promises) their data is already on disk or on its way, and what is left after an import's last
 * file is the renames, the folder syncs and the index commit, not a whole batch of fsyncs. Nothing
 * is renamed early: a blob appears under its final name only in makeDurableMany.
 */
export function earlySyncQueue(concurrency = 4): (s: ClosedStagedBlob) => EarlySync {
  let running = 0;
  const waiting: (() => void)[] = [];
  const run = (s: ClosedStagedBlob): EarlySync => {
    running++;
    return syncTemp(s).finally(() => {
      running--;
      waiting.shift()?.();
    });
  };
  return (s) => {
    if (s.tmp === null) return Promise.resolve(null);
    if (running < concurrency) return run(s);
    return new Promise<void>((resolve) => waiting.push(resolve)).then(() => run(s));
  };
}

async function eachLimited<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(GROUP_SYNC_CONCURRENCY, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * Makes a group of staged blobs (written and closed, see closeStaged) durable together: an fsync
 * of every temp file, then the renames to their final names, then one fsync of each folder that
 * received a rename. The writes of the whole group are on their way to the disk before the first
 * fsync, so the file system commits them in a few journal transactions instead of two per file
 * (an fsync per file interleaved with the next file's writes costs a commit each). A blob is
 * durable under its final name when its entry is null; an error entry says why it is not (its
 * temp file is removed). Only a durable blob may get an index row. `started`: the fsyncs already
 * under way for some of them (earlySyncQueue, same order as `staged`), waited for, not repeated.
 */
export async function makeDurableMany(folder: string, staged: ClosedStagedBlob[], started?: (EarlySync | undefined)[]): Promise<(WorkstationError | null)[]> {
  const errors: (WorkstationError | null)[] = staged.map(() => null);
  const fail = async (i: number, err: unknown): Promise<void> => {
    errors[i] ??= writeError(folder, err);
    const tmp = staged[i]!.tmp;
    if (tmp) await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
  };
  const pending = staged.map((s, i) => ({ s, i })).filter(({ s }) => s.tmp !== null);
  await eachLimited(pending, async ({ s, i }) => {
    const err = await (started?.[i] ?? syncTemp(s));
    if (err) await fail(i, err);
  });
  const synced = pending.filter(({ i }) => errors[i] === null);
  await eachLimited(synced, async ({ s, i }) => {
    try {
      await fs.promises.rename(s.tmp!, s.final);
    } catch (err) {
      await fail(i, err);
    }
  });
  const byDir = new Map<string, number[]>();
  for (const { s, i } of synced) {
    if (errors[i] !== null) continue;
    const members = byDir.get(s.dir);
    if (members) members.push(i);
    else byDir.set(s.dir, [i]);
  }
  await eachLimited([...byDir], async ([dir, members]) => {
    try {
      await syncFolder(dir);
    } catch (err) {
      // The renames into this folder may not survive a crash: none of its blobs may be recorded.
      for (const i of members) errors[i] ??= writeError(folder, err);
    }
  });
  return errors;
}

/**
 * Makes every shard folder (00..ff) now, so that imports never pay a mkdir per new folder: a
 * data folder's one-time cost, paid when the import workers start. Folders already there cost a
 * stat each. Failures are left to the writes, which make a missing folder themselves.
 */
export function prepareShardFolders(folder: string): void {
  try {
    for (let i = 0; i < 256; i++) {
      const dir = path.join(folder, i.toString(16).padStart(2, '0'));
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      knownDirs.add(dir);
    }
  } catch {
    /* the writes make (and report) a folder that cannot be made */
  }
}

export interface BlobStoreOptions {
  folder: string;
  /** The key-encryption key (from the encrypted database); called when needed so a locked store fails late. */
  kek: () => Buffer;
  io?: BlobIo;
  /** Where a blob lives when it was packed (packs.ts), from the index; null for a blob file of its own. */
  locate?: (hash: string) => PackedBlob | null;
}

/**
 * Reads, authenticates and decrypts a stored blob (any thread): from its pack when `packed` says
 * where (the index knows), else from its file of its own.
 */
export function readStoredBlob(folder: string, kek: Buffer, hash: string, packed: PackedBlob | null): Buffer {
  if (packed) return readPacked(folder, kek, hash, packed);
  let raw: Buffer;
  try {
    raw = fs.readFileSync(blobPath(folder, hash));
  } catch (err) {
    throw missingBlob(hash, err);
  }
  return decryptBlob(kek, hash, raw);
}

export interface BlobStore {
  readonly folder: string;
  /** Encrypts and writes `data` unless a blob with that content exists; returns its hash. */
  put(data: Uint8Array): { hash: string; size: number; existed: boolean };
  /** Reads, authenticates and decrypts a blob (from its pack or its own file). */
  get(hash: string): Buffer;
  has(hash: string): boolean;
  /** Removes temp files left by a crash mid-write (they are never referenced). */
  sweepTemp(): number;
}

export function createBlobStore(options: BlobStoreOptions): BlobStore {
  const { folder } = options;
  return {
    folder,
    put(data) {
      const hash = sha256Hex(data);
      const res = writeBlobFile(folder, hash, encryptBlob(options.kek(), hash, data), options.io);
      return { hash, size: data.length, existed: res.existed };
    },
    get: (hash) => readStoredBlob(folder, options.kek(), hash, options.locate?.(hash) ?? null),
    has(hash) {
      return !!options.locate?.(hash) || fs.existsSync(blobPath(folder, hash));
    },
    sweepTemp() {
      let n = 0;
      if (!fs.existsSync(folder)) return 0;
      for (const sub of fs.readdirSync(folder)) {
        const dir = path.join(folder, sub);
        if (!fs.statSync(dir).isDirectory()) continue;
        for (const f of fs.readdirSync(dir)) {
          if (f.startsWith('.') && f.endsWith('.tmp')) {
            fs.rmSync(path.join(dir, f), { force: true });
            n++;
          }
        }
      }
      return n;
    },
  };
}
