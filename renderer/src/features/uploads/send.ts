// Sends picked files for review: each in chunks (uploads.begin / uploads.chunk), then one
// uploads.submit files them all under the record (the patient's own, or the one a radiologist named).
import { WorkstationError, type RequestOf, type ResponseOf } from '@contract/index';
import { api } from '../../api/client';

export interface SendProgress {
  sentBytes: number;
  totalBytes: number;
  phase: 'sending' | 'filing';
}

function base64Of(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => {
      const s = String(r.result);
      resolve(s.slice(s.indexOf(',') + 1));
    };
    r.onerror = () => reject(new WorkstationError('INVALID_INPUT', 'A file could not be read by the browser.'));
    r.readAsDataURL(blob);
  });
}

export async function sendForReview(files: File[], opts: { patientId?: string; onProgress(p: SendProgress): void }): Promise<ResponseOf<'uploads.submit'>> {
  const usable = files.filter((f) => f.size > 0);
  if (!usable.length) throw new WorkstationError('INVALID_INPUT', 'Choose at least one file that is not empty.');
  const totalBytes = usable.reduce((n, f) => n + f.size, 0);
  let sentBytes = 0;
  const fileIds: string[] = [];
  for (const file of usable) {
    const { fileId, chunkBytes } = await api.call('uploads.begin', { name: (file.webkitRelativePath || file.name).slice(-255), size: file.size });
    for (let offset = 0; offset < file.size; offset += chunkBytes) {
      const data = await base64Of(file.slice(offset, offset + chunkBytes));
      await api.call('uploads.chunk', { fileId, offset, data });
      sentBytes += Math.min(chunkBytes, file.size - offset);
      opts.onProgress({ phase: 'sending', sentBytes, totalBytes });
    }
    fileIds.push(fileId);
  }
  opts.onProgress({ phase: 'filing', sentBytes, totalBytes });
  const req: RequestOf<'uploads.submit'> = opts.patientId ? { fileIds, patientId: opts.patientId } : { fileIds };
  return api.call('uploads.submit', req);
}
