// The types that the composition root builds and the handler files consume: every service by
// name, and the running workstation. Both compose.ts and handlers/ import this; neither imports the other.
import type { Logger } from '../services/log';
import type { WorkstationConfig } from '../services/config';
import type { SystemService } from '../services/system';
import type { InferenceService } from '../services/inference';
import type { HandlerTable } from './handler-table';
import type { SecretVault, Store } from '../services/store';
import type { AuditLog } from '../services/audit';
import type { AuthService } from '../services/auth';
import type { SettingsService } from '../services/settings';
import type { SyncService } from '../services/sync';
import type { DimseService, HospitalBrowser } from '../services/dimse';
import type { DicomService } from '../services/dicom';
import type { AiResultsService, BackgroundScoring } from '../services/ai-results';
import type { ReportsService } from '../services/reports';
import type { ResearchService } from '../services/research';
import type { MessagesService } from '../services/messages';
import type { FederatedService } from '../services/federated';
import type { MeasurementsService } from '../services/measurements';
import type { TrackingService } from '../services/tracking';
import type { UploadsService } from '../services/uploads';
import type { NotificationsService } from '../services/notifications';
import type { CareService } from '../services/care';

export interface Services {
  config: WorkstationConfig;
  logger: Logger;
  system: SystemService;
  store: Store;
  /** Secrets beside the database key: the OS keychain (keychain mode) or the encrypted database (passphrase mode). */
  secrets: SecretVault;
  audit: AuditLog;
  auth: AuthService;
  settings: SettingsService;
  inference: InferenceService;
  sync: SyncService;
  /** DIMSE: the C-STORE SCP and the PACS as SCU. */
  dimse: DimseService;
  /** The Hospital server page: search and retrieve over DIMSE or DICOMweb, whichever is configured. */
  hospital: HospitalBrowser;
  dicom: DicomService;
  aiResults: AiResultsService;
  /** The background scoring queue of arriving studies. */
  aiBackground: BackgroundScoring;
  reports: ReportsService;
  research: ResearchService;
  messages: MessagesService;
  federation: FederatedService;
  measurements: MeasurementsService;
  tracking: TrackingService;
  uploads: UploadsService;
  notifications: NotificationsService;
  care: CareService;
}

export interface Workstation {
  readonly config: WorkstationConfig;
  readonly logger: Logger;
  readonly services: Services;
  readonly table: HandlerTable;
  close(): Promise<void>;
}
