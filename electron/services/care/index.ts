// Health tips, the care team and the emergency numbers for patients (the public surface of services/care).
export { createCareService } from './care-service';
export type { CareService, CareServiceOptions, CareActor } from './care-service';
