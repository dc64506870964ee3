// Warming an import worker's code before its first import. A fresh worker runs the import path
// (parse, check, hash, encrypt) in V8's interpreter at first, and V8 compiles the hot functions
// (dicom-parser's element reader, the header readers) on its background threads while the import
// runs: about 100-180 ms of compiler CPU per 500-slice import on a 2-core machine, taken from the
// workers and the main thread. A worker that has just started runs the same path on four synthetic
// MR slices (explicit VR with every attribute the index reads and with only what an image needs,
// implicit VR little endian) a few hundred times instead, while the workstation is idle, so the
// compiled code is there when files come. It keeps only partly: after 30-60 s of idling, V8's
// memory-reducing collections drop compiled code whose object shapes have died, and an import
// then compiled 29-30 functions again (10 right after the warm-up, about 40 in a cold worker;
// --trace-opt). So an idle worker runs a short warm-up again every few seconds (keepWarm), for an
// hour after its last work. The slices are made in memory: no file is read and nothing is written.
import { writePart10, type Dataset } from '../dicom-objects';
import { TS } from './parse';
import type { StageOptions } from './process';
import { stageBytes } from './process';

const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';

/**
 * One synthetic 64x64 16-bit MR slice with the attributes a scanner's file has and the index
 * reads, written by dcmjs (writePart10). `full`: every optional attribute present, with
 * fractional values where a scanner writes them (so V8's object shapes are those of real files
 * from the start); otherwise only what an image needs (the absent ones read as null).
 */
function slice(explicit: boolean, full: boolean, n: number): Buffer {
  const root = '2.25.1000000000000000000000000000000000';
  const px = Buffer.alloc(64 * 64 * 2);
  for (let i = 0; i < 64 * 64; i++) px.writeUInt16LE((i * 37 + n) & 0xfff, 2 * i);
  const z = (n * 5.5 - 60.25).toFixed(2);
  const optional: Dataset = full ? {
    SpecificCharacterSet: 'ISO_IR 100',
    ReferencedImageSequence: [{ ReferencedSOPClassUID: MR_IMAGE_STORAGE, ReferencedSOPInstanceUID: `${root}.9` }],
    ContrastBolusAgent: 'GADOLINIUM',
    BodyPartExamined: 'BRAIN',
    ScanningSequence: 'SE',
    SequenceVariant: ['SK', 'SP'],
    SequenceName: '*se2d1',
    SliceThickness: '5.5',
    RepetitionTime: '550.5',
    EchoTime: '9.1',
    InversionTime: '250.5',
    ProtocolName: 't1_se_tra_post',
    SeriesNumber: '5',
    FrameOfReferenceUID: `${root}.5`,
    SliceLocation: z,
    PixelSpacing: ['0.9375', '0.9375'],
    WindowCenter: '600.5',
    WindowWidth: '1200.5',
    RescaleIntercept: '-1024.5',
    RescaleSlope: '1.25',
  } : {};
  const dataset: Dataset = {
    ...optional,
    ImageType: full ? ['ORIGINAL', 'PRIMARY', 'M', 'ND'] : ['DERIVED', 'SECONDARY'],
    SOPClassUID: MR_IMAGE_STORAGE,
    SOPInstanceUID: `${root}.${explicit ? 1 : 2}.${n}`,
    StudyDate: '20260101',
    StudyTime: '101500.000',
    AccessionNumber: 'WARMUP-1',
    Modality: 'MR',
    Manufacturer: 'Synthetic',
    ReferringPhysicianName: '',
    StudyDescription: 'Brain with contrast',
    SeriesDescription: 'AX T1 POST',
    PatientName: 'WARM^UP',
    PatientID: 'WARMUP',
    PatientBirthDate: '19700101',
    PatientSex: 'O',
    StudyInstanceUID: `${root}.3`,
    SeriesInstanceUID: `${root}.4`,
    InstanceNumber: String(n + 1),
    ImagePositionPatient: ['-120.5', '-130.25', z],
    ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: 64,
    Columns: 64,
    BitsAllocated: 16,
    BitsStored: 12,
    HighBit: 11,
    PixelRepresentation: 0,
    PixelData: [px.buffer.slice(px.byteOffset, px.byteOffset + px.byteLength)],
    _vrMap: { PixelData: 'OW' },
  };
  return writePart10(dataset, explicit ? undefined : TS.implicitLE);
}

/** The warm-up's slices: explicit VR (most files), full and minimal, and implicit VR little endian. */
export function warmUpSlices(): Buffer[] {
  return [slice(true, true, 0), slice(true, false, 1), slice(true, true, 2), slice(false, true, 3)];
}

/** Files' worth of import work a worker runs before it says it is warm (enough for V8 to optimize the hot path). */
export const WARM_UP_ROUNDS = 400;

/**
 * Runs the import path (stageBytes: parse, check, hash, encrypt for a pack) on the warm-up slices
 * `rounds` times, `chunk` at a time, handing the thread back between chunks; stops early when
 * `stop()` says real work is waiting (real files warm it as well). Nothing it makes is kept.
 * Resolves with the rounds run.
 */
export async function warmUpImportPath(opts: StageOptions, stop: () => boolean, rounds = WARM_UP_ROUNDS, chunk = 25): Promise<number> {
  // The worker moves records to the main thread (a transfer detaches their buffers), and V8 drops
  // every piece of compiled typed-array code the first time a buffer of the thread is detached
  // (its "no detached buffers" assumption no longer holds). Detach one first, so the code compiled
  // below stays valid through the first real answer.
  const spare = new ArrayBuffer(8);
  structuredClone(spare, { transfer: [spare] });
  const slices = warmUpSlices();
  const o: StageOptions = { limits: opts.limits, blobFolder: opts.blobFolder, kek: opts.kek, pack: true };
  let done = 0;
  while (done < rounds && !stop()) {
    for (let i = 0; i < chunk && done < rounds; i++, done++) {
      const out = await stageBytes(slices[done % slices.length]!, o);
      if (!out.ok) throw new Error(`the warm-up slice was refused: ${out.reason}`);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return done;
}

/** Idle time after which a worker runs the warm-up again, and the least time between two such runs. */
export const KEEP_WARM_IDLE_MS = 10_000;
/** Files' worth of warm-up each time (a few ms of one core). */
export const KEEP_WARM_ROUNDS = 100;
/** How long after its last real work a worker keeps warm (then it stays idle until work comes). */
export const KEEP_WARM_FOR_MS = 60 * 60_000;

export interface KeepWarm {
  /** Real work was just done (the idle time counts from now). */
  touch(): void;
  stop(): void;
  /** Warm-ups run so far. */
  runs(): number;
}

/**
 * Keeps an idle worker's import code compiled: once it has been idle for `idleMs` (and as often as
 * that while it stays idle), it runs `rounds` files' worth of warm-up, stopped by real work
 * (`busy`) at its next chunk of slices, so code that V8 dropped while idling is compiled again
 * before the next import. Alternating A/B here (500 slices, a fresh service per round as in the
 * bench, 2 processes per arm, every other round imported after 45 s idle): median 320 ms with it
 * against 359 ms without (process CPU 550 against 597 ms); imported right after the first
 * warm-up, 311-323 ms. It stops keeping warm `forMs` after the last real work (touch). The timer
 * does not keep the thread alive.
 */
export function keepWarm(opts: StageOptions, busy: () => boolean, { idleMs = KEEP_WARM_IDLE_MS, rounds = KEEP_WARM_ROUNDS, forMs = KEEP_WARM_FOR_MS } = {}): KeepWarm {
  let lastWork = Date.now();
  let lastRun = 0;
  let running = false;
  let runs = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    if (running || busy() || now - Math.max(lastWork, lastRun) < idleMs || now - lastWork > forMs) return;
    running = true;
    void warmUpImportPath(opts, busy, rounds)
      .then(() => { runs++; }, () => undefined)
      .finally(() => {
        running = false;
        lastRun = Date.now();
      });
  }, Math.max(1, Math.floor(idleMs / 2)));
  timer.unref();
  return {
    touch: () => { lastWork = Date.now(); },
    stop: () => clearInterval(timer),
    runs: () => runs,
  };
}
