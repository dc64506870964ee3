// The per-file import work with the worker's reused read buffer: each file's record and metadata
// are its own (nothing keeps a view of the buffer once the next file is read into it), a refused
// file gives the buffer back, and a second reader while it is lent gets a buffer of its own.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decryptBlob, sealedParts } from '../blobs';
import { DEFAULT_LIMITS } from './limits';
import { ReadBuffer, stageFile, type StageOptions } from './process';
import { imageBody, part10 } from '../../testing/dicom';
import { tempFolders } from '../../testing/temp';

const tmp = tempFolders('tp-process-');

describe('the read buffer of the import worker', () => {
  it('is lent to one reader at a time; a second reader, or a file too large for it, gets a buffer of its own', () => {
    const rb = new ReadBuffer(1024 * 1024);
    const a = rb.take(1000);
    expect(a.shared).toBe(true);
    const b = rb.take(1000);
    expect(b.shared).toBe(false);
    a.bytes.fill(1);
    b.bytes.fill(2);
    expect(a.bytes.every((v) => v === 1)).toBe(true);
    rb.giveBack();
    expect(rb.take(2000).shared).toBe(true);
    rb.giveBack();
    expect(rb.take(1024 * 1024 + 1).shared).toBe(false);
  });

  it('files read one after the other into it each keep their own record and metadata; a refused file gives it back', async () => {
    const dir = tmp();
    const opts: StageOptions = { limits: DEFAULT_LIMITS, blobFolder: path.join(dir, 'blobs'), kek: crypto.randomBytes(32), pack: true, readBuffer: new ReadBuffer() };
    const files = [0, 1, 2].map((i) => {
      // Different sizes, so a later, shorter file leaves the end of an earlier one in the buffer.
      const bytes = part10(imageBody({ rows: 32 - 8 * i, cols: 32, sop: `1.2.826.0.1.3680043.10.999.7.${i}`, pixels: Buffer.alloc((32 - 8 * i) * 32 * 2, 10 + i) }));
      const file = path.join(dir, `f${i}.dcm`);
      fs.writeFileSync(file, bytes);
      return { file, bytes };
    });
    const hostile = path.join(dir, 'not-dicom.dcm');
    fs.writeFileSync(hostile, Buffer.alloc(4000, 0x41));
    const outcomes = [];
    for (const f of [files[0]!.file, hostile, files[1]!.file, files[2]!.file]) outcomes.push(await stageFile(f, opts));
    expect(outcomes[1]!.ok).toBe(false);
    const ok = [outcomes[0]!, outcomes[2]!, outcomes[3]!];
    ok.forEach((o, i) => {
      if (!o.ok || !o.record) throw new Error('expected a sealed record');
      expect(o.meta.instance.sopInstanceUid).toBe(`1.2.826.0.1.3680043.10.999.7.${i}`);
      expect(o.meta.image.rows).toBe(32 - 8 * i);
      expect(decryptBlob(opts.kek, o.sha256, Buffer.concat(sealedParts(o.record))).equals(files[i]!.bytes)).toBe(true);
    });
    // Given back after every file, the refused one included.
    expect(opts.readBuffer!.take(10).shared).toBe(true);
  });
});
