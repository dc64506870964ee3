// The Research page. An empty frame for now: the issue that owns this feature fills it in.
export function ResearchPage() {
  return (
    <section className="page" aria-labelledby="research-title">
      <h1 id="research-title">Research</h1>
      <p className="muted">Data sets, batch scoring runs and model comparisons will appear here.</p>
    </section>
  );
}
