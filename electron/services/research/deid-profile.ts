// The PS3.15 Basic Application Level Confidentiality Profile as rules: the action for any tag
// from Table E.1-1 (deid-table.ts) under the options chosen, and an allow-list default for every
// attribute the table does not name: kept only when it is on KEEP (what an image needs to be
// read and scored), otherwise removed; dates, times and UIDs the table does not name are handled
// by their VR (PS3.15 E.1.1 note 4).
import { TABLE_E1_1_TSV } from './deid-table';

/** Table E.1-1 action codes, compound ones resolved (see resolve()). */
export type DeidAction = 'D' | 'Z' | 'X' | 'K' | 'C' | 'U';

export interface DeidOptions {
  /**
   * Dates and times: 'remove' (the Basic Profile alone), 'modified' (Retain Longitudinal Temporal
   * Information with Modified Dates: every date shifted by one secret offset per data set), or
   * 'full' (... with Full Dates: kept as they are).
   */
  temporal: 'remove' | 'modified' | 'full';
  /** Clean Descriptors Option: descriptions keep their known-safe words instead of being removed. */
  cleanDescriptors: boolean;
}

export const DEFAULT_DEID_OPTIONS: DeidOptions = { temporal: 'modified', cleanDescriptors: false };

export interface TableRow {
  tag: string;
  name: string;
  inStandardIod: boolean;
  basic: string;
  options: Readonly<Record<string, string>>;
}

function parseTable(tsv: string): TableRow[] {
  return tsv
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [tag, iod, basic, opts, name] = l.split('\t') as [string, string, string, string, string];
      const options: Record<string, string> = {};
      for (const kv of opts ? opts.split(',') : []) {
        const [k, v] = kv.split('=') as [string, string];
        options[k] = v;
      }
      return { tag, name, inStandardIod: iod === 'Y', basic, options };
    });
}

export const TABLE_E1_1: readonly TableRow[] = parseTable(TABLE_E1_1_TSV);
const EXACT = new Map(TABLE_E1_1.filter((r) => !r.tag.includes('X') && r.tag !== 'ODDGROUP').map((r) => [r.tag, r]));
// Repeating groups: (50xx,xxxx) curves, (60xx,3000) overlay data, (60xx,4000) overlay comments.
const PATTERNS = TABLE_E1_1.filter((r) => r.tag.includes('X')).map((r) => ({ row: r, re: new RegExp('^' + r.tag.replace(/X/g, '[0-9A-F]') + '$') }));
const PRIVATE_ROW = TABLE_E1_1.find((r) => r.tag === 'ODDGROUP')!;

export function isPrivateTag(tag: string): boolean {
  return parseInt(tag.slice(0, 4), 16) % 2 === 1;
}

/** The table's row for a tag (private tags share one row), or null when the table does not name it. */
export function tableRow(tag: string): TableRow | null {
  const t = tag.toUpperCase();
  if (isPrivateTag(t)) return PRIVATE_ROW;
  return EXACT.get(t) ?? PATTERNS.find((p) => p.re.test(t))?.row ?? null;
}

/**
 * The action for a row under the options: an option's column wins where the option is chosen and
 * the row has one; compound codes take their first, least-retaining choice (X/Z -> X, Z/D -> Z),
 * since which one an IOD would need is not known here and removing is always the safe side.
 */
export function actionFor(row: TableRow, options: DeidOptions): DeidAction {
  let code = row.basic;
  if (options.temporal === 'full' && row.options.LF) code = row.options.LF;
  else if (options.temporal === 'modified' && row.options.LM) code = row.options.LM;
  if (options.cleanDescriptors && row.options.CD) code = row.options.CD;
  return code.charAt(0) as DeidAction;
}

/** True when a D on a sequence may keep its items (cleaned one by one): the table gives it a clean option for structured content or graphics. */
export function sequenceMayBeCleaned(row: TableRow): boolean {
  return row.options.CS === 'C' || row.options.CG === 'C';
}

/**
 * The allow-list: attributes the table does not name that are kept (sequences among them are
 * walked item by item with the same rules). Image pixel and plane geometry, acquisition
 * parameters (MR, CT), the multi-frame functional groups, coded concepts, SR structure. Nothing
 * here is free text written by a person; device strings (manufacturer, model, software) stay as
 * the table does not list them.
 */
export const KEEP: ReadonlySet<string> = new Set([
  // SOP common, general image and series
  '00080005', '00080008', '00080016', '00080060', '00080064', '00080070', '00081090', '00181020',
  '00089007', '00089205', '00089206', '00089207', '00089208', '00089209', '00089215', '00081150',
  '00082218', '00082220', '00082228', '00082230',
  // coded entries (PS3.15 E.1.1 note 10: codes are safe; staff codes are in the table)
  '00080100', '00080102', '00080103', '00080104', '00080105', '00080106', '0008010F', '00080117', '00080119', '00080120', '00080121',
  // image plane, position and frame organisation
  '00200011', '00200012', '00200013', '00200020', '00200032', '00200037', '00200060', '00200062', '00201040', '00201041', '00201002',
  '00200100', '00200105', '00200110', '00209057', '00209128', '00209157', '00209111', '00209113', '00209116', '00209071', '00209072',
  '00209222', '00209165', '00209167', '00209221', '00209056', '00209241', '00209162', '00209228',
  // image pixel, LUTs, palette
  '00280002', '00280004', '00280006', '00280008', '00280009', '00280010', '00280011', '00280030', '00280034', '00280051',
  '00280100', '00280101', '00280102', '00280103', '00280106', '00280107', '00280120', '00280121', '00281040', '00281041',
  '00281050', '00281051', '00281052', '00281053', '00281054', '00282110', '00282112', '00282114', '00280301', '00280302',
  '00281101', '00281102', '00281103', '00281201', '00281202', '00281203', '00281221', '00281222', '00281223',
  '00283000', '00283002', '00283004', '00283006', '00283010', '00289110', '00289132', '00289145', '00282000', '00280A02',
  '00289001', '00289002', '00289108',
  '7FE00008', '7FE00009', '7FE00010',
  // MR acquisition and enhanced MR macros
  '00180015', '00180020', '00180021', '00180022', '00180023', '00180024', '00180025', '00180050', '00180080', '00180081',
  '00180082', '00180083', '00180084', '00180085', '00180086', '00180087', '00180088', '00180089', '00180091', '00180093',
  '00180094', '00180095', '00181250', '00181251', '00181310', '00181312', '00181314', '00181315', '00181316', '00181318',
  '00185100', '00189005', '00189006', '00189008', '00189009', '00189011', '00189012', '00189014', '00189015', '00189016',
  '00189017', '00189018', '00189020', '00189021', '00189022', '00189024', '00189025', '00189026', '00189027', '00189028',
  '00189029', '00189032', '00189033', '00189034', '00189042', '00189049', '00189058', '00189069', '00189073', '00189075',
  '00189077', '00189078', '00189079', '00189082', '00189087', '00189089', '00189112', '00189114', '00189115', '00189117',
  '00189119', '00189125', '00189226', '00189231', '00189601', '00189602', '00189603', '00189604',
  // CT acquisition
  '00180060', '00180090', '00181100', '00181110', '00181111', '00181120', '00181130', '00181140', '00181150', '00181151',
  '00181152', '00181153', '00181160', '00181170', '00181190', '00181210', '00189305', '00189306', '00189307', '00189309',
  '00189310', '00189311', '00189345',
  // multi-frame functional groups
  '52009229', '52009230',
  // SR document structure (text values and names are not kept: TextValue is not on this list)
  '0040A040', '0040A010', '0040A043', '0040A168', '0040A300', '0040A30A', '004008EA', '0040A504', '0040DB00', '0040A491',
  '0040A493', '0040A050',
  // de-identification markers this profile writes
  '00120062', '00120063', '00120064', '00280303',
]);

/** Words that may stay in a cleaned descriptor (Clean Descriptors Option): imaging vocabulary, never names or places. */
const SAFE_WORDS = new Set(
  (
    'AX AXIAL SAG SAGITTAL COR CORONAL OBL OBLIQUE TRA TRANSVERSE T1 T2 T1W T2W T1WI T2WI PD PDW FLAIR DWI DTI ADC SWI SWAN GRE SE TSE FSE ' +
    'EPI MPRAGE SPGR BRAVO VIBE STIR TIRM FIESTA CISS SPACE CUBE MRA TOF ANGIO CTA PWI DSC DCE ASL PERFUSION DIFFUSION TRACE MIP MPR ' +
    'RECON REFORMAT BRAIN HEAD NECK SKULL SPINE ORBIT ORBITS PITUITARY SELLA IAC MR MRI CT PET SPECT US SC ROUTINE STANDARD PROTOCOL ' +
    'PRE POST GD GAD GADO CONTRAST C FS FATSAT FAT SAT WATER IN OUT OPP PHASE 2D 3D 4D LOCALIZER LOC LOCALISER SCOUT SURVEY TOPOGRAM ' +
    'CALIBRATION CAL ISO THIN THICK HIGH LOW RES RESOLUTION FAST SPIN ECHO GRADIENT INVERSION RECOVERY WEIGHTED IMAGE IMAGES SERIES ' +
    'STUDY SLICE SLICES WITH WITHOUT W WO AND OR OF THE FOR NO NONE LEFT RIGHT BILATERAL L R AP PA LAT SUP INF ANT ANTERIOR POST ' +
    'POSTERIOR EARLY LATE DELAYED ARTERIAL VENOUS PORTAL NATIVE PLAIN MOCO MOSAIC DERIVED PRIMARY SECONDARY ORIGINAL NORM DIS2D DIS3D ' +
    'ND FIL SUB SUBTRACTION MAP MAPS FA COLFA TENSOR B0 B1000 TUMOR TUMOUR GLIOMA MENINGIOMA FOLLOW UP FOLLOWUP BASELINE SCREENING ' +
    'W/ W/O WITH/WITHOUT W/WO +C -C'
  ).split(' '),
);

/**
 * The Clean action on a descriptor: only words from SAFE_WORDS and plain numbers (with a unit)
 * survive; null when nothing does (the caller then applies the Basic Profile's action).
 */
export function cleanDescriptor(text: string): string | null {
  const kept = text
    .toUpperCase()
    .split(/[\s,;:_^()[\]]+/)
    .filter((w) => w !== '' && (SAFE_WORDS.has(w) || /^[+]?\d+(\.\d+)?(MM|CM|S|MS|T|MIN|DEG)?$/.test(w)));
  return kept.length ? kept.join(' ') : null;
}

/** Text VRs: what the allow-list test checks after export (no such attribute outside KEEP, the table's D/Z dummies and the markers). */
export const TEXT_VRS: ReadonlySet<string> = new Set(['AE', 'CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT', 'UR']);

/** The De-identification Method Code Sequence (0012,0064) codes (DCM) for the profile and the options used. */
export function methodCodes(options: DeidOptions): { code: string; meaning: string }[] {
  const codes = [{ code: '113100', meaning: 'Basic Application Confidentiality Profile' }];
  if (options.cleanDescriptors) codes.push({ code: '113105', meaning: 'Clean Descriptors Option' });
  if (options.temporal === 'full') codes.push({ code: '113106', meaning: 'Retain Longitudinal Temporal Information Full Dates Option' });
  if (options.temporal === 'modified') codes.push({ code: '113107', meaning: 'Retain Longitudinal Temporal Information Modified Dates Option' });
  return codes;
}

/** The De-identification Method (0012,0063) text: at most 64 characters (LO). */
export function methodText(options: DeidOptions): string {
  const parts = ['PS3.15 E.1 Basic Profile'];
  if (options.temporal === 'modified') parts.push('Modified Dates');
  if (options.temporal === 'full') parts.push('Full Dates');
  if (options.cleanDescriptors) parts.push('Clean Descriptors');
  return parts.join(' + ').slice(0, 64);
}
