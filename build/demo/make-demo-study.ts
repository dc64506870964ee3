// Makes the bundled demo study (build/demo/study/*.dcm) with dcmjs: one single-slice MR per
// class from ../shared/datasets/brain-tumor-mri and a 24-slice axial T1 series from Debian's
// mricron-data ch2better.nii.gz. Every object says it is derived, for a made-up patient.
// Run: node --import tsx build/demo/make-demo-study.ts
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs') as { data: { DicomDict: new (meta: unknown) => { dict: unknown; write(): ArrayBuffer }; DicomMetaDictionary: { denaturalizeDataset(d: unknown): unknown } } };
const jpeg = require('jpeg-js') as { decode(b: Buffer, o?: { useTArray?: boolean }): { width: number; height: number; data: Uint8Array } };

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const OUT = path.join(HERE, 'study');
const DATASETS = path.resolve(ROOT, '..', 'shared', 'datasets', 'brain-tumor-mri');
const NIFTI = '/usr/share/mricron/templates/ch2better.nii.gz';

// Deterministic UIDs (2.25 + a hash) so re-running the script makes the same files.
const uid = (label: string): string => '2.25.' + BigInt('0x' + crypto.createHash('sha256').update('tumorpredict-demo:' + label).digest('hex').slice(0, 30)).toString();

const DERIVATION = 'Derived for demonstration: re-encoded 8-bit image without original spacing or orientation; not for clinical use.';
const common = (patient: { name: string; id: string; sex: string }, study: string, studyDesc: string) => ({
  PatientName: patient.name,
  PatientID: patient.id,
  PatientBirthDate: '19700101',
  PatientSex: patient.sex,
  PatientIdentityRemoved: 'YES',
  DeidentificationMethod: 'Made-up demo patient; source images carry no identifiers',
  StudyInstanceUID: uid(study),
  StudyID: '1',
  StudyDate: '20240101',
  StudyTime: '090000',
  AccessionNumber: 'DEMO-' + study.toUpperCase().slice(0, 8),
  StudyDescription: studyDesc,
  ReferringPhysicianName: '',
  Modality: 'MR',
  ImageType: ['DERIVED', 'SECONDARY'],
  DerivationDescription: DERIVATION,
  BurnedInAnnotation: 'NO',
  SpecificCharacterSet: 'ISO_IR 100',
  Manufacturer: 'TumorPredict demo generator',
});

function write(file: string, ds: Record<string, unknown>, pixels: Uint8Array, rows: number, cols: number): void {
  const sopClass = '1.2.840.10008.5.1.4.1.1.4'; // MR Image Storage
  const sop = ds.SOPInstanceUID as string;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sop,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '2.25.1234567890123456789',
    ImplementationVersionName: 'TUMORPREDICT',
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  const full = {
    ...ds,
    SOPClassUID: sopClass,
    Rows: rows,
    Columns: cols,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    WindowCenter: 128,
    WindowWidth: 256,
    PixelData: [pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength)],
    _vrMap: { PixelData: 'OB' },
  };
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(full);
  fs.writeFileSync(file, Buffer.from(dict.write()));
}

function slices(): void {
  const classes: [string, string, string][] = [['glioma', 'DEMO^GLIOMA', 'F'], ['meningioma', 'DEMO^MENINGIOMA', 'M'], ['pituitary', 'DEMO^PITUITARY', 'F'], ['notumor', 'DEMO^NOTUMOR', 'M']];
  for (const [cls, name, sex] of classes) {
    const dir = path.join(DATASETS, cls);
    if (!fs.existsSync(dir)) throw new Error(`${dir} is missing: the demo needs ../shared/datasets/brain-tumor-mri`);
    const first = fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort()[0]!;
    const img = jpeg.decode(fs.readFileSync(path.join(dir, first)), { useTArray: true });
    const grey = new Uint8Array(img.width * img.height);
    for (let i = 0; i < grey.length; i++) grey[i] = Math.round((img.data[4 * i]! + img.data[4 * i + 1]! + img.data[4 * i + 2]!) / 3);
    const study = `slice-${cls}`;
    write(path.join(OUT, `${cls}-1.dcm`), {
      ...common({ name, id: `DEMO-${cls.toUpperCase()}`, sex }, study, `Demo: brain MRI, ${cls === 'notumor' ? 'no tumor' : cls} (derived)`),
      SeriesInstanceUID: uid(study + ':series'),
      SeriesNumber: 1,
      SeriesDescription: `Derived slice (source: brain-tumor-mri/${cls}/${first})`,
      SOPInstanceUID: uid(study + ':1'),
      InstanceNumber: 1,
    }, grey, img.height, img.width);
  }
}

function volume(): void {
  if (!fs.existsSync(NIFTI)) throw new Error(`${NIFTI} is missing: apt-get install mricron-data`);
  const b = zlib.gunzipSync(fs.readFileSync(NIFTI));
  const [nx, ny, nz] = [b.readInt16LE(42), b.readInt16LE(44), b.readInt16LE(46)];
  const datatype = b.readInt16LE(70);
  if (datatype !== 2) throw new Error(`unexpected NIfTI datatype ${datatype}`);
  const voxOffset = Math.round(b.readFloatLE(108));
  const [dx, dy, dz] = [b.readFloatLE(80), b.readFloatLE(84), b.readFloatLE(88)];
  // Downsample in-plane by 2 and take 24 axial slices through the brain: a few MB at most.
  const step = 2;
  const cols = Math.floor(nx / step);
  const rows = Math.floor(ny / step);
  const count = 24;
  const z0 = Math.floor(nz * 0.25);
  const dzStep = Math.floor((nz * 0.5) / count);
  const study = 'volume-t1';
  for (let k = 0; k < count; k++) {
    const z = z0 + k * dzStep;
    const px = new Uint8Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        // NIfTI rows run posterior to anterior; DICOM rows top to bottom (anterior first).
        const y = ny - 1 - r * step;
        px[r * cols + c] = b[voxOffset + z * nx * ny + y * nx + c * step]!;
      }
    }
    write(path.join(OUT, `t1-volume-${String(k + 1).padStart(2, '0')}.dcm`), {
      ...common({ name: 'DEMO^VOLUME', id: 'DEMO-VOLUME', sex: 'O' }, study, 'Demo: T1 brain volume (ch2better template, derived)'),
      SeriesInstanceUID: uid(study + ':series'),
      SeriesNumber: 1,
      SeriesDescription: 'Derived axial T1 (mricron-data ch2better.nii.gz)',
      SOPInstanceUID: uid(`${study}:${k}`),
      InstanceNumber: k + 1,
      PixelSpacing: [dy * step, dx * step],
      SliceThickness: dz * dzStep,
      ImagePositionPatient: [0, 0, z * dz],
      ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
      SliceLocation: z * dz,
      FrameOfReferenceUID: uid(study + ':for'),
    }, px, rows, cols);
  }
}

fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });
slices();
volume();
const total = fs.readdirSync(OUT).reduce((n, f) => n + fs.statSync(path.join(OUT, f)).size, 0);
console.log(`demo study: ${fs.readdirSync(OUT).length} files, ${(total / 1024).toFixed(0)} KiB in ${path.relative(ROOT, OUT)}`);
