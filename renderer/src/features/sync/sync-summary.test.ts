import { describe, expect, it } from 'vitest';
import type { SyncStatus } from '@contract/index';
import { syncSummary } from './summary';

const notConfigured = { configured: false } as SyncStatus;

describe('the status bar line for the hospital server', () => {
  it('names the DIMSE PACS when only DIMSE is configured, instead of "not configured"', () => {
    const line = syncSummary(notConfigured, { transport: 'dimse', server: 'ORTHANC at 10.0.0.5:104', canRetrieve: true, message: null });
    expect(line).toMatchObject({ text: 'Hospital server: ORTHANC at 10.0.0.5:104 (DIMSE)', tone: 'ok' });
  });

  it('warns when the PACS is set but the receiver is off (a retrieve cannot arrive), with the reason as its title', () => {
    const line = syncSummary(notConfigured, { transport: 'dimse', server: 'ORTHANC at 10.0.0.5:104', canRetrieve: false, message: 'turn the receiver on' });
    expect(line).toMatchObject({ text: 'Hospital server: ORTHANC at 10.0.0.5:104 (DIMSE, receiver off)', tone: 'warn', title: 'turn the receiver on' });
  });

  it('says "not configured" only when neither DICOMweb nor a PACS is set', () => {
    expect(syncSummary(notConfigured, { transport: 'none', server: null, canRetrieve: false, message: null }).text).toBe('Hospital server: not configured');
    expect(syncSummary(notConfigured).text).toBe('Hospital server: not configured');
  });
});
