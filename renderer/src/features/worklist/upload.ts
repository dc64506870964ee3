// Browser-side import: sends picked or dropped files to the main process in chunks
// (import.uploadBegin/Chunk/Finish), reporting bytes sent and honouring cancellation.
import { WorkstationError, type ImportReport } from '@contract/index';
import { api } from '../../api/client';

export interface UploadProgress {
  phase: 'uploading' | 'importing';
  sentBytes: number;
  totalBytes: number;
  files: number;
}

/** Files per uploadFinish batch: bounds memory held by the main process between chunks and import. */
const BATCH_FILES = 200;

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

export async function uploadFiles(files: File[], opts: { signal: AbortSignal; onProgress(p: UploadProgress): void }): Promise<ImportReport[]> {
  const usable = files.filter((f) => f.size > 0);
  const totalBytes = usable.reduce((n, f) => n + f.size, 0);
  let sentBytes = 0;
  const reports: ImportReport[] = [];
  for (let start = 0; start < usable.length; start += BATCH_FILES) {
    const batch = usable.slice(start, start + BATCH_FILES);
    const ids: string[] = [];
    for (const file of batch) {
      if (opts.signal.aborted) throw new WorkstationError('CONFLICT', 'The import was cancelled; files imported before stay.');
      const { uploadId, chunkBytes } = await api.call('import.uploadBegin', { name: (file.webkitRelativePath || file.name).slice(-255), size: file.size });
      for (let offset = 0; offset < file.size; offset += chunkBytes) {
        if (opts.signal.aborted) throw new WorkstationError('CONFLICT', 'The import was cancelled; files imported before stay.');
        const data = await base64Of(file.slice(offset, offset + chunkBytes));
        await api.call('import.uploadChunk', { uploadId, offset, data });
        sentBytes += Math.min(chunkBytes, file.size - offset);
        opts.onProgress({ phase: 'uploading', sentBytes, totalBytes, files: usable.length });
      }
      ids.push(uploadId);
    }
    opts.onProgress({ phase: 'importing', sentBytes, totalBytes, files: usable.length });
    reports.push(await api.call('import.uploadFinish', { uploadIds: ids }));
  }
  return reports;
}
