// Inference: runtime detection, model loading and scoring (filled in by the model issue).
export { detectRuntimes, detectGpu, pickRuntime, RUNTIME_PREFERENCE } from './runtimes';
