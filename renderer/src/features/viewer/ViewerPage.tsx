// The Viewer page. An empty frame for now: the issue that owns this feature fills it in.
export function ViewerPage() {
  return (
    <section className="page" aria-labelledby="viewer-title">
      <h1 id="viewer-title">Viewer</h1>
      <p className="muted">Open a study from the worklist to read it here.</p>
    </section>
  );
}
