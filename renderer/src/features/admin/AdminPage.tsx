// The Administration page. An empty frame for now: the issue that owns this feature fills it in.
export function AdminPage() {
  return (
    <section className="page" aria-labelledby="admin-title">
      <h1 id="admin-title">Administration</h1>
      <p className="muted">Accounts, roles, models, server settings and the audit log.</p>
    </section>
  );
}
