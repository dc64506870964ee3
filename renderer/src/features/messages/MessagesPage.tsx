// The Messages page. An empty frame for now: the issue that owns this feature fills it in.
export function MessagesPage() {
  return (
    <section className="page" aria-labelledby="messages-title">
      <h1 id="messages-title">Messages</h1>
      <p className="muted">Messages between patients and their doctors.</p>
    </section>
  );
}
