// The My results page. An empty frame for now: the issue that owns this feature fills it in.
export function PatientPage() {
  return (
    <section className="page" aria-labelledby="patient-title">
      <h1 id="patient-title">My results</h1>
      <p className="muted">Your signed reports, in plain language, will appear here.</p>
    </section>
  );
}
