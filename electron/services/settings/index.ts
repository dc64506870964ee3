// Workstation settings stored in the encrypted database.
export { createSettingsService } from './settings-service';
export type { SettingsService } from './settings-service';
