// The Worklist page. An empty frame for now: the issue that owns this feature fills it in.
export function WorklistPage() {
  return (
    <section className="page" aria-labelledby="worklist-title">
      <h1 id="worklist-title">Worklist</h1>
      <p className="muted">Studies to read will appear here once DICOM import is available.</p>
    </section>
  );
}
