// The Reports page. An empty frame for now: the issue that owns this feature fills it in.
export function ReportsPage() {
  return (
    <section className="page" aria-labelledby="reports-title">
      <h1 id="reports-title">Reports</h1>
      <p className="muted">Pending, approved and rejected reports will be listed here.</p>
    </section>
  );
}
