// A PNG that declares gigabytes of pixels in a few bytes is refused by its header, before
// pngjs is asked to decode it (issue 12, finding 10), for key images and for scored images.
import zlib from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeImage } from '../inference';
import { createReportsFixture, solidPng, type ReportsFixture } from '../../testing/reports';
import { readPngHeader } from './png-header';

/** A real small PNG whose IHDR is rewritten (with a valid CRC) to claim width x height. */
function claiming(width: number, height: number): Buffer {
  const png = Buffer.from(solidPng(8, 8));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)), 29);
  return png;
}

let fx: ReportsFixture;
beforeAll(async () => {
  fx = await createReportsFixture();
});
afterAll(async () => {
  await fx?.close();
});

describe('PNG size from the header', () => {
  it('reads IHDR and nothing more', () => {
    expect(readPngHeader(solidPng(96, 40))).toMatchObject({ width: 96, height: 40, bitDepth: 8 });
    expect(readPngHeader(claiming(30000, 30000))).toMatchObject({ width: 30000, height: 30000 });
    expect(readPngHeader(Buffer.from('not a png at all, long enough to have a header'))).toBeNull();
  });

  it('a key image claiming 30000 x 30000 pixels is refused without decoding', () => {
    const read = vi.spyOn(PNG.sync, 'read');
    try {
      const r = fx.reports.open(fx.studyId, fx.actors.radiologist);
      expect(() => fx.reports.addKeyImage({ reportId: r.id, png: claiming(30000, 30000), caption: '' }, fx.actors.radiologist)).toThrow(/too large/);
      expect(read).not.toHaveBeenCalled();
      // A normal one still decodes and is stored.
      expect(fx.reports.addKeyImage({ reportId: r.id, png: solidPng(), caption: 'ok' }, fx.actors.radiologist).keyImages).toHaveLength(1);
      expect(read).toHaveBeenCalled();
    } finally {
      read.mockRestore();
    }
  });

  it('an image to score claiming 20000 x 20000 pixels is refused without decoding', () => {
    const read = vi.spyOn(PNG.sync, 'read');
    try {
      expect(() => decodeImage(claiming(20000, 20000), 'scan.png')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: expect.objectContaining({ reason: 'size' }) }));
      expect(read).not.toHaveBeenCalled();
    } finally {
      read.mockRestore();
    }
  });
});
