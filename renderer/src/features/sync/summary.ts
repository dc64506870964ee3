// The status bar's one line about the hospital server (pure: no API calls, so it is unit-tested).
import type { PacsSource, SyncStatus } from '@contract/index';

/** The hospital archive a DIMSE PACS gives (radiologists: the Hospital server page's source; admins: the DIMSE settings). */
export type ArchiveSource = Pick<PacsSource, 'transport' | 'server' | 'canRetrieve' | 'message'>;

/** One line for the status bar: the DICOMweb sync, or the DIMSE PACS when only that is configured. */
export function syncSummary(s: SyncStatus | null, archive: ArchiveSource | null = null): { text: string; tone: 'ok' | 'warn' | 'error' | 'muted'; title?: string } {
  if (!s) return { text: 'Hospital server: …', tone: 'muted' };
  if (!s.configured) {
    if (archive?.transport === 'dimse' && archive.server) {
      return archive.canRetrieve
        ? { text: `Hospital server: ${archive.server} (DIMSE)`, tone: 'ok' }
        : { text: `Hospital server: ${archive.server} (DIMSE, receiver off)`, tone: 'warn', title: archive.message ?? undefined };
    }
    return { text: 'Hospital server: not configured', tone: 'muted' };
  }
  const waiting = s.outbox.waiting ? `, ${s.outbox.waiting} to send` : '';
  const failed = s.outbox.failed ? `, ${s.outbox.failed} failed` : '';
  if (s.running) return { text: `Hospital server: syncing…${waiting}`, tone: 'muted' };
  if (s.lastError) return { text: `Hospital server: error${waiting}${failed}`, tone: 'error' };
  const last = s.lastSuccessAt ? `synced ${new Date(s.lastSuccessAt).toLocaleTimeString()}` : 'never synced';
  return { text: `Hospital server: ${s.enabled ? last : `${last} (polling off)`}${waiting}${failed}`, tone: s.outbox.failed ? 'warn' : 'ok' };
}
