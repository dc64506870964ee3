// Patient uploads for review and the care team's review queue (the public surface of services/uploads).
export { createUploadsService } from './uploads-service';
export type { UploadsService, UploadsServiceOptions, UploadActor } from './uploads-service';
export { patientView, preliminaryText, plainDate } from './patient-view';
