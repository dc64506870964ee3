// What the workstation is and whether it is ready.
export { createSystemService } from './system-service';
export type { SystemService, DatabaseStatus, SystemServiceDeps } from './system-service';
