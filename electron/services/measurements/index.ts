// Radiologist measurements kept per image (the public surface of services/measurements).
export { createMeasurementsService, whereText } from './measurements-service';
export type { MeasurementsService, MeasurementsServiceOptions, MeasurementActor, MeasurementInput } from './measurements-service';
export { figureOf, statsOf, polygonArea, longestAndPerpendicular, measurementText } from './geometry';
export type { Point, Spacing, Figure } from './geometry';
