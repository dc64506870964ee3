// A data set received over DIMSE (the bytes of one C-STORE, in the presentation context's
// transfer syntax) becomes a Part 10 file for the normal import path: preamble, DICM and a file
// meta group, then the received bytes as they came. Nothing here parses the data set: the
// import path's workers do that, with their limits and refusals.

const IMPLEMENTATION_CLASS_UID = '2.25.160142097383838712346713291838418297843';
const IMPLEMENTATION_VERSION = 'TUMORPREDICT';
const UID_RE = /^[0-9]+(\.[0-9]+)*$/;

/** One explicit VR little endian element of the meta group (UI/SH padded to even length). */
function element(elementNo: number, vr: 'UL' | 'OB' | 'UI' | 'SH', value: Buffer | string | number): Buffer {
  let body: Buffer;
  if (vr === 'UL') {
    body = Buffer.alloc(4);
    body.writeUInt32LE(value as number);
  } else if (vr === 'OB') body = value as Buffer;
  else {
    const s = value as string;
    body = Buffer.from(s.length % 2 ? s + (vr === 'UI' ? '\0' : ' ') : s, 'ascii');
  }
  // OB has two reserved bytes and a 32-bit length after the VR; the others a 16-bit length.
  const long = vr === 'OB';
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(0x0002, 0);
  h.writeUInt16LE(elementNo, 2);
  h.write(vr, 4, 'ascii');
  if (long) h.writeUInt32LE(body.length, 8);
  else h.writeUInt16LE(body.length, 6);
  return Buffer.concat([h, body]);
}

/**
 * A Part 10 file around `dataset` (the raw C-STORE data set). The SOP Class and Instance UIDs
 * come from the C-STORE command; a UID that is not one throws (the caller answers with a failure).
 */
export function wrapPart10(dataset: Buffer, ids: { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string }): Buffer {
  for (const [name, uid] of Object.entries(ids)) {
    if (!UID_RE.test(uid) || uid.length > 64) throw new Error(`the C-STORE ${name} is not a UID`);
  }
  const rest = Buffer.concat([
    element(0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 'UI', ids.sopClassUid),
    element(0x0003, 'UI', ids.sopInstanceUid),
    element(0x0010, 'UI', ids.transferSyntaxUid),
    element(0x0012, 'UI', IMPLEMENTATION_CLASS_UID),
    element(0x0013, 'SH', IMPLEMENTATION_VERSION),
  ]);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'ascii'), element(0x0000, 'UL', rest.length), rest, dataset]);
}
