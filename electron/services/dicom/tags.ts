// The read-only tag browser's rows: every element of a parsed file in order, sequences flattened
// with their depth, names from the DICOM dictionary (dcmjs's), values as text by VR, binary values
// summarised, private tags marked with their creator, and a bound on what one reply carries.
import { createRequire } from 'node:module';
import type { DicomTag } from '../../contract';
import type { DataSet, Element } from './parse';

const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs') as { data: { DicomMetaDictionary: { dictionary: Record<string, { vr: string; name: string } | undefined> } } };
const DICTIONARY = dcmjs.data.DicomMetaDictionary.dictionary;

/** Characters of one value a reply carries; longer values come truncated (the viewer collapses long ones anyway). */
export const MAX_TAG_VALUE_CHARS = 4096;
/** Rows one reply carries. */
export const MAX_TAG_ROWS = 5000;

const STRING_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const NUMERIC: Record<string, { size: number; read: (ds: DataSet, tag: string, i: number) => number | undefined }> = {
  US: { size: 2, read: (ds, t, i) => ds.uint16(t, i) },
  SS: { size: 2, read: (ds, t, i) => ds.int16(t, i) },
  UL: { size: 4, read: (ds, t, i) => ds.uint32(t, i) },
  SL: { size: 4, read: (ds, t, i) => ds.int32(t, i) },
  FL: { size: 4, read: (ds, t, i) => ds.float(t, i) },
  FD: { size: 8, read: (ds, t, i) => ds.double(t, i) },
};

/** "x00100010" -> "(0010,0010)". */
const tagText = (key: string): string => `(${key.slice(1, 5).toUpperCase()},${key.slice(5, 9).toUpperCase()})`;

function lookup(key: string): { vr: string; name: string } | undefined {
  const t = tagText(key);
  const exact = DICTIONARY[t];
  if (exact) return exact;
  // Repeating groups (50xx, 60xx overlays) and the group length element.
  if (key.slice(5, 9) === '0000') return { vr: 'UL', name: 'GroupLength' };
  if (/^x60[0-9a-f]{2}/i.test(key)) return DICTIONARY[`(60xx,${key.slice(5, 9).toUpperCase()})`];
  return undefined;
}

function clip(s: string): { value: string; truncated: boolean } {
  return s.length > MAX_TAG_VALUE_CHARS ? { value: s.slice(0, MAX_TAG_VALUE_CHARS), truncated: true } : { value: s, truncated: false };
}

function valueOf(ds: DataSet, key: string, el: Element, vr: string, utf8: boolean): string {
  if (key === 'x7fe00010') return `(pixel data, ${el.encapsulatedPixelData ? 'encapsulated' : `${el.length} bytes`})`;
  if (el.length <= 0) return '';
  if (STRING_VRS.has(vr)) {
    const end = Math.min(el.dataOffset + el.length, ds.byteArray.length);
    const raw = ds.byteArray.subarray(el.dataOffset, end);
    const s = utf8 && vr !== 'UI' ? new TextDecoder('utf-8').decode(raw) : Buffer.from(raw).toString('latin1');
    // Multiple values are backslash-separated; keep them, drop padding.
    return s.replace(/\0+$/g, '').trim();
  }
  const num = NUMERIC[vr];
  if (num) {
    const count = Math.floor(el.length / num.size);
    const shown = Math.min(count, 64);
    const values: string[] = [];
    for (let i = 0; i < shown; i++) {
      const v = num.read(ds, key, i);
      values.push(v === undefined ? '?' : String(vr === 'FL' ? Math.round(v * 1e6) / 1e6 : v));
    }
    return values.join('\\') + (count > shown ? `\\… (${count} values)` : '');
  }
  if (vr === 'AT' && el.length >= 4) {
    const g = ds.uint16(key, 0);
    const e = ds.uint16(key, 1);
    return g === undefined || e === undefined ? '' : `(${g.toString(16).padStart(4, '0').toUpperCase()},${e.toString(16).padStart(4, '0').toUpperCase()})`;
  }
  const head = Buffer.from(ds.byteArray.subarray(el.dataOffset, Math.min(el.dataOffset + Math.min(el.length, 16), ds.byteArray.length))).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `(binary, ${el.length} bytes${head ? `: ${head}${el.length > 16 ? ' …' : ''}` : ''})`;
}

interface Level {
  ds: DataSet;
  keys: string[];
  i: number;
  depth: number;
  /** Private creators of this data set by "gggg" + block ("xx"), for naming private tags. */
  creators: Map<string, string>;
  /** 1-based item number when this level is a sequence item (its header row comes first). */
  item: number | null;
}

/** The rows of the tag browser for a parsed data set (meta header included, in tag order). */
export function listTags(root: DataSet): { tags: DicomTag[]; truncated: boolean } {
  const charset = root.string('x00080005') ?? '';
  const utf8 = charset.includes('ISO_IR 192');
  const out: DicomTag[] = [];
  // Item and sequence delimiters (group FFFE) are structure, not elements: the item header stands for them.
  const level = (ds: DataSet, depth: number, item: number | null): Level => ({ ds, keys: Object.keys(ds.elements).filter((k) => !k.startsWith('xfffe')).sort(), i: 0, depth, creators: new Map(), item });
  // Depth-first without recursion: a hostile file's nesting cannot overflow the stack.
  const stack: Level[] = [level(root, 0, null)];
  while (stack.length) {
    if (out.length >= MAX_TAG_ROWS) return { tags: out, truncated: true };
    const top = stack[stack.length - 1]!;
    if (top.item !== null && top.i === 0) {
      out.push({ tag: '(FFFE,E000)', name: `Item ${top.item}`, vr: '', value: '', length: 0, truncated: false, private: false, depth: top.depth - 1 });
    }
    if (top.i >= top.keys.length) {
      stack.pop();
      continue;
    }
    const key = top.keys[top.i++]!;
    const el = top.ds.elements[key]!;
    const group = key.slice(1, 5);
    const elem = Number.parseInt(key.slice(5, 9), 16);
    const isPrivate = Number.parseInt(group, 16) % 2 === 1;
    let vr = el.vr ?? (el.items ? 'SQ' : undefined);
    let name: string;
    if (isPrivate && elem >= 0x10 && elem <= 0xff) {
      name = 'Private creator';
      vr ??= 'LO';
      top.creators.set(group + key.slice(7, 9), top.ds.string(key) ?? '');
    } else if (isPrivate && elem > 0xff) {
      const creator = top.creators.get(group + key.slice(5, 7));
      name = creator ? `Private tag (${creator})` : 'Private tag';
      vr ??= 'UN';
    } else {
      const d = lookup(key);
      name = d?.name ?? 'Unknown tag';
      vr ??= d?.vr?.split('|')[0] ?? 'UN';
    }
    if (el.items) {
      out.push({ tag: tagText(key), name, vr: 'SQ', value: `(sequence, ${el.items.length} item${el.items.length === 1 ? '' : 's'})`, length: el.length, truncated: false, private: isPrivate, depth: top.depth });
      const items = el.items.map((it) => it.dataSet).filter((d): d is DataSet => !!d);
      // Pushed last item first, so the first item is walked first.
      for (let k = items.length - 1; k >= 0; k--) stack.push(level(items[k]!, top.depth + 1, k + 1));
      continue;
    }
    const v = clip(valueOf(top.ds, key, el, vr, utf8));
    out.push({ tag: tagText(key), name, vr, value: v.value, length: el.length, truncated: v.truncated, private: isPrivate, depth: top.depth });
  }
  return { tags: out, truncated: false };
}
