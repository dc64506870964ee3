// The streaming multipart reader: every split of the bytes gives the same parts, a cut keeps the
// complete parts and reports the cut, and the STOW writer's output reads back.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { boundaryOf, buildMultipartRelated, readMultipart, MultipartCutError } from './multipart';
import { MR_SMALL } from '../../testing/sync/study-factory';

function chunked(buf: Buffer, sizes: number[]): Readable {
  const chunks: Buffer[] = [];
  let at = 0;
  let i = 0;
  while (at < buf.length) {
    const n = sizes[i++ % sizes.length]!;
    chunks.push(buf.subarray(at, at + n));
    at += n;
  }
  return Readable.from(chunks);
}

async function readAll(stream: Readable, boundary: string): Promise<Buffer[]> {
  const got: Buffer[] = [];
  await readMultipart(stream, boundary, {
    onPart: async (p) => {
      got.push(p.bytes);
      expect(p.size).toBe(p.bytes.length);
      expect(p.headers['content-type']).toBe('application/dicom');
    },
  });
  return got;
}

describe('multipart/related', () => {
  const files = [fs.readFileSync(MR_SMALL), Buffer.from('\r\n--not-the-boundary\r\n'), Buffer.alloc(0), randomBytes(70_001)].map((b) => Buffer.from(b));
  const { body, contentType } = buildMultipartRelated(files);
  const boundary = boundaryOf(contentType)!;

  it('finds the boundary in a Content-Type, quoted or not', () => {
    expect(boundaryOf('multipart/related; type="application/dicom"; boundary="abc def"')).toBe('abc def');
    expect(boundaryOf('multipart/related; boundary=xyz; type=application/dicom')).toBe('xyz');
    expect(boundaryOf('application/dicom+json')).toBeNull();
  });

  it('reads the same parts whatever the chunk sizes', async () => {
    for (const sizes of [[body.length], [1], [7, 3, 101], [boundary.length + 1], [65536]]) {
      const parts = await readAll(chunked(body, sizes), boundary);
      expect(parts.length, `chunks ${sizes.join(',')}`).toBe(files.length);
      parts.forEach((p, i) => expect(p.equals(files[i]!), `part ${i} with chunks ${sizes.join(',')}`).toBe(true));
    }
  });

  it('delivers complete parts and reports a cut, handing on no half part', async () => {
    const firstEnd = body.indexOf(files[1]!) + 10; // inside the second part
    const got: Buffer[] = [];
    const err = await readMultipart(chunked(body.subarray(0, firstEnd), [4096]), boundary, {
      onPart: async (p) => {
        got.push(p.bytes);
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MultipartCutError);
    expect((err as MultipartCutError).partsCompleted).toBe(1);
    expect(got).toHaveLength(1);
    expect(got[0]!.equals(files[0]!)).toBe(true);
  });

  it('refuses a part larger than the limit as a cut', async () => {
    const err = await readMultipart(chunked(body, [4096]), boundary, { maxPartBytes: 50_000, onPart: async () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MultipartCutError);
    expect(String((err as Error).message)).toMatch(/more than the 50000 accepted|larger than 50000 bytes/); // declared in its headers, or counted
  });

  it('reports a stream that errors in the middle as a cut', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield body.subarray(0, 100);
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    await expect(readMultipart(failing(), boundary, { onPart: async () => {} })).rejects.toThrow(/stopped after 0 complete part/);
  });
});
