// A page that changes what system.info reports (the admin's inference runtime setting) says so
// here, and the status bar reads system.info again. Within this window only: system.info is
// read on demand, the main process pushes no change event for it.
const CHANGED = 'tp:system-info-changed';

export function systemInfoChanged(): void {
  window.dispatchEvent(new Event(CHANGED));
}

export function onSystemInfoChanged(listener: () => void): () => void {
  window.addEventListener(CHANGED, listener);
  return () => window.removeEventListener(CHANGED, listener);
}
