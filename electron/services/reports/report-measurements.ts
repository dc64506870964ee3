// What the report, its PDF and its SR take of the radiologist's measurements (interop-api.md):
// a subset of the contract's Measurement, so the measurements service's forStudy passes as is.
import type { Measurement } from '../../contract';

export type ReportMeasurement = Pick<Measurement, 'id' | 'instanceId' | 'frame' | 'kind' | 'points' | 'label' | 'value' | 'unit' | 'stats' | 'text'> & Partial<Pick<Measurement, 'where'>>;

/** The report's view of the study's measurements and of the patient's tumor tracking. */
export interface ReportMeasurementSource {
  forStudy(studyId: string): ReportMeasurement[];
}
