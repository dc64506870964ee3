// The PS3.15 Basic Profile as Table E.1-1 specifies it (issue 12, finding 1): the table itself,
// a file carrying every attribute the review found leaking, and every pydicom test file, each
// read back by independent readers (pydicom for the whole tree, dcmdump for the markers).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { deidentifyPart10, pseudonym, type DeidKey, type DeidOptions } from './deid';
import { KEEP, TABLE_E1_1, TEXT_VRS, actionFor, cleanDescriptor, tableRow } from './deid-profile';

const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const KEY: DeidKey = { secret: Buffer.alloc(32, 3) };
let work: string;

interface Element {
  path: string;
  tag: string;
  vr: string;
  value: string;
}

/** Every element of each file, nested ones with their path, read by pydicom (force: no file is skipped). */
function pydicomElements(files: string[]): Record<string, Element[] | { error: string }> {
  const script = `
import json, sys, pydicom
out = {}
def walk(ds, prefix, acc):
    for el in ds:
        tag = '%08X' % int(el.tag)
        if el.VR == 'SQ':
            acc.append({'path': prefix + tag, 'tag': tag, 'vr': 'SQ', 'value': str(len(el.value))})
            for i, item in enumerate(el.value): walk(item, prefix + tag + '[%d].' % i, acc)
        else:
            v = el.value
            if isinstance(v, (bytes, bytearray)): v = '<%d bytes>' % len(v)
            elif isinstance(v, (list, pydicom.multival.MultiValue)): v = '\\\\'.join(str(x) for x in v)
            acc.append({'path': prefix + tag, 'tag': tag, 'vr': el.VR, 'value': '' if v is None else str(v)})
for f in sys.argv[1:]:
    try:
        ds = pydicom.dcmread(f, force=True)
        acc = []
        walk(ds.file_meta, 'meta.', acc)
        walk(ds, '', acc)
        out[f] = acc
    except Exception as e:
        out[f] = {'error': repr(e)}
print(json.dumps(out))
`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 512 * 2 ** 20 })) as Record<string, Element[] | { error: string }>;
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out.sort();
}

beforeAll(() => {
  expect(fs.existsSync(PYDICOM_FILES), 'pydicom test files missing: apt-get install python3-pydicom').toBe(true);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-deid-profile-'));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('Table E.1-1 as data', () => {
  it('holds every attribute of the table with a valid action, including each one the review found leaking', () => {
    expect(TABLE_E1_1.length).toBe(460);
    for (const r of TABLE_E1_1) {
      expect(r.basic, r.name).toMatch(/^(D|Z|X|K|C|U|X\/Z|X\/D|X\/Z\/D|Z\/D|X\/Z\/U\*)$/);
      for (const v of Object.values(r.options)) expect(v, r.name).toMatch(/^[KCX]$/);
    }
    const named = (tag: string): string => tableRow(tag)?.name ?? 'missing';
    expect(named('60003000')).toBe('Overlay Data');
    expect(named('60224000')).toBe('Overlay Comments');
    expect(named('50001000')).toBe('Curve Data');
    expect(named('0008009C')).toBe("Consulting Physician's Name");
    expect(named('00324000')).toBe('Study Comments');
    expect(named('00380010')).toBe('Admission ID');
    expect(named('00401001')).toBe('Requested Procedure ID');
    expect(named('00402016')).toBe('Placer Order Number / Imaging Service Request');
    expect(named('00402017')).toBe('Filler Order Number / Imaging Service Request');
    expect(named('00102000')).toBe('Medical Alerts');
    expect(named('00102110')).toBe('Allergies');
    expect(named('00101090')).toBe('Medical Record Locator');
    expect(named('00400242')).toBe('Performed Station Name');
    expect(named('00400243')).toBe('Performed Location');
    expect(named('0040A123')).toBe('Person Name');
    expect(named('00291010')).toBe('Private attributes');
  });

  it('applies the options where the table has a column for them, and the least-retaining choice of a compound code', () => {
    const basic: DeidOptions = { temporal: 'remove', cleanDescriptors: false };
    const row = (t: string) => tableRow(t)!;
    expect(actionFor(row('00080020'), basic)).toBe('Z'); // Study Date
    expect(actionFor(row('00080020'), { ...basic, temporal: 'modified' })).toBe('C');
    expect(actionFor(row('00080020'), { ...basic, temporal: 'full' })).toBe('K');
    expect(actionFor(row('00081030'), basic)).toBe('X'); // Study Description
    expect(actionFor(row('00081030'), { ...basic, cleanDescriptors: true })).toBe('C');
    expect(actionFor(row('00080080'), basic)).toBe('X'); // Institution Name X/Z/D
    expect(actionFor(row('00700084'), basic)).toBe('Z'); // Content Creator's Name Z/D
    expect(actionFor(row('0040A730'), basic)).toBe('D'); // Content Sequence
    expect(cleanDescriptor('MR BRAIN W/O CONTRAST, Dr. Smith')).toBe('MR BRAIN W/O CONTRAST');
    expect(cleanDescriptor('John Doe')).toBeNull();
  });
});

describe('the attributes the review found leaking', () => {
  // CT_small with every attribute the review listed added (dcmtk's dcmodify), plus a person name
  // and free text inside an SR content item and free text the table does not name.
  const leaks: Record<string, string> = {
    '6000,0010': '4',
    '6000,0011': '4',
    '6000,3000': '', // overlay data, written below as bytes
    '6000,4000': 'OVERLAY SAYS JANE ROE',
    '0008,009C': 'Consulting^Cathy',
    '0032,4000': 'Study comment about Jane Roe',
    '0038,0010': 'ADM-778899',
    '0040,1001': 'REQPROC-5566',
    '0040,2016': 'PLACER-1122',
    '0040,2017': 'FILLER-3344',
    '0010,2000': 'Alert: Jane Roe is allergic',
    '0010,2110': 'Penicillin (Jane Roe)',
    '0010,1090': 'MRL-99887766',
    '0040,0242': 'STATION-ROE-7',
    '0040,0243': 'Roe Memorial Wing 3',
    '0040,0400': 'Scheduled step comment: call Jane Roe at home',
    '0040,A730[0].0040,A010': 'CONTAINS',
    '0040,A730[0].0040,A040': 'PNAME',
    '0040,A730[0].0040,A123': 'Observer^Olga',
    '0040,A730[1].0040,A040': 'TEXT',
    '0040,A730[1].0040,A160': 'Dictated by Olga Observer for Jane Roe',
  };
  let file: string;
  beforeAll(() => {
    file = path.join(work, 'leaky.dcm');
    fs.copyFileSync(path.join(PYDICOM_FILES, 'CT_small.dcm'), file);
    const args = ['-nb', '-i', '(0008,0030)=101500'];
    for (const [tag, value] of Object.entries(leaks)) {
      if (tag === '6000,3000') continue;
      args.push('-i', `${tag.replace(/(^|\.)([0-9A-F]{4},[0-9A-F]{4})/g, '$1($2)')}=${value}`);
    }
    execFileSync('dcmodify', [...args, file], { stdio: 'pipe' });
    // Overlay data (OW): 16 bits set in a 4x4 overlay.
    execFileSync('dcmodify', ['-nb', '-i', '(6000,3000)=65535', file], { stdio: 'pipe' });
  });

  for (const options of [
    { temporal: 'remove', cleanDescriptors: false },
    { temporal: 'modified', cleanDescriptors: true },
  ] as DeidOptions[]) {
    it(`none of them survives (${options.temporal} dates, clean descriptors ${options.cleanDescriptors ? 'on' : 'off'})`, () => {
      const before = pydicomElements([file])[file] as Element[];
      expect(before.some((e) => e.tag === '60003000')).toBe(true);
      expect(before.some((e) => e.path === '0040A730[0].0040A123')).toBe(true);
      const out = path.join(work, `leaky-${options.temporal}.dcm`);
      fs.writeFileSync(out, deidentifyPart10(fs.readFileSync(file), KEY, options).bytes);
      const after = pydicomElements([out])[out] as Element[];
      const text = fs.readFileSync(out).toString('latin1');
      for (const needle of ['Roe', 'ROE', 'Cathy', 'Olga', 'ADM-778899', 'REQPROC', 'PLACER', 'FILLER', 'MRL-9988', 'STATION', 'Penicillin', 'Scheduled step']) {
        expect(text.includes(needle), needle).toBe(false);
      }
      expect(after.filter((e) => /^60[0-9A-F]{2}/.test(e.tag))).toEqual([]);
      for (const tag of ['0008009C', '00324000', '00380010', '00401001', '00102000', '00102110', '00101090', '00400242', '00400243', '00400400']) {
        // Gone or empty; with Clean Descriptors a description may keep its known-safe words only.
        const left = after.find((e) => e.tag === tag && e.value !== '');
        if (left) expect(options.cleanDescriptors && cleanDescriptor(left.value) === left.value, `${tag}=${left.value}`).toBe(true);
      }
      if (options.temporal === 'remove') expect(after.filter((e) => ['DA', 'DT', 'TM'].includes(e.vr) && e.value !== '' && e.value !== '19000101')).toEqual([]);
    });
  }
});

describe('every pydicom test file', () => {
  const results: { file: string; out: string | null; refused: string | null }[] = [];
  let dumps: Record<string, Element[] | { error: string }> = {};
  const optionSets: DeidOptions[] = [
    { temporal: 'modified', cleanDescriptors: false },
    { temporal: 'remove', cleanDescriptors: true },
  ];

  beforeAll(() => {
    const files = allFiles(PYDICOM_FILES);
    files.forEach((f, i) => {
      optionSets.forEach((options, j) => {
        try {
          const out = path.join(work, `all-${i}-${j}.dcm`);
          fs.writeFileSync(out, deidentifyPart10(fs.readFileSync(f), KEY, options).bytes);
          results.push({ file: path.relative(PYDICOM_FILES, f), out, refused: null });
        } catch (err) {
          expect(err, path.relative(PYDICOM_FILES, f)).toBeInstanceOf(WorkstationError);
          expect((err as WorkstationError).code).toBe('INVALID_INPUT');
          results.push({ file: path.relative(PYDICOM_FILES, f), out: null, refused: (err as Error).message });
        }
      });
    });
    dumps = pydicomElements(results.filter((r) => r.out).map((r) => r.out!));
  }, 600_000);

  it('de-identifies every DICOM file dcmjs can read; the others are refused with a reason', () => {
    const written = results.filter((r) => r.out);
    expect(written.length).toBeGreaterThanOrEqual(140);
    // What is refused: not DICOM at all (README, dumps, JSON, gzip), no File Meta Information,
    // truncated or broken on purpose (pydicom keeps them to test its error handling), and two RLE
    // RT doses where dcmjs misreads a nested UID as a 775 MB value (caught by the size check), and
    // DICOMDIR files (an index of files and patients, not an image).
    const refused = [...new Set(results.filter((r) => r.refused).map((r) => r.file))];
    for (const f of refused) {
      expect(f, f).toMatch(/NoMeta|no_meta|meta_missing|README|\.dump$|\.json$|\.gz$|rtstruct\.dcm$|_truncated|SC_rgb_jpeg\.dcm$|DICOMDIR|nested_priv_SQ|rtdose_rle/);
    }
    for (const r of written) expect(dumps[r.out!], `${r.file} must read back with pydicom`).not.toHaveProperty('error');
  });

  it('after export: no person name, no free text outside the keep list, no overlay or curve, no private tag', () => {
    const pseudonymLike = /^(RESEARCH\^[0-9A-F]{10}|R-[0-9A-F]{10}|ANONYMIZED\^?|)$/;
    for (const r of results.filter((x) => x.out)) {
      const els = dumps[r.out!] as Element[];
      for (const e of els) {
        const where = `${r.file} ${e.path} ${e.vr}=${e.value.slice(0, 40)}`;
        expect(parseInt(e.tag.slice(0, 4), 16) % 2, `private tag: ${where}`).toBe(0);
        expect(/^(50|60)[0-9A-F]{2}/.test(e.tag), `overlay or curve: ${where}`).toBe(false);
        if (e.vr === 'PN') expect(e.value, `person name: ${where}`).toMatch(pseudonymLike);
        if (TEXT_VRS.has(e.vr) && !e.path.startsWith('meta.') && !KEEP.has(e.tag)) {
          // Outside the keep list a text value is empty, a dummy, the pseudonym or a cleaned descriptor.
          const ok = pseudonymLike.test(e.value) || e.value === 'ANONYMIZED' || (cleanDescriptor(e.value) === e.value.toUpperCase().replace(/[\s,;:_^()[\]]+/g, ' ').trim());
          expect(ok, `free text: ${where}`).toBe(true);
        }
      }
    }
  });

  it('dcmdump shows (0012,0062) YES and (0012,0063) in every written file', () => {
    for (const r of results.filter((x) => x.out)) {
      const dump = execFileSync('dcmdump', ['+P', '0012,0062', '+P', '0012,0063', r.out!], { encoding: 'utf8' });
      expect(dump, r.file).toMatch(/\(0012,0062\) CS \[YES\]/);
      expect(dump, r.file).toMatch(/\(0012,0063\) LO \[PS3\.15 E\.1 Basic Profile/);
    }
  });

  it('the patient name everywhere is the pseudonym of the file\'s patient', () => {
    const ct = results.find((r) => r.file === 'CT_small.dcm' && r.out)!;
    const name = (dumps[ct.out!] as Element[]).find((e) => e.path === '00100010')!.value;
    expect(name).toBe(pseudonym(KEY, 'name', '1CT1'));
  });
});
