// Longitudinal tumor tracking and the tumor geometry it rests on (the public surface of services/tracking).
export { createTrackingService, changeBetween, compare, sequenceKey } from './tracking-service';
export type { TrackingService, TrackingServiceOptions } from './tracking-service';
export { maskDiameters, maskPosition, maskSide, slicePosition, sliceNormal, stackVolume } from './geometry';
export type { VolumeSlice } from './geometry';
