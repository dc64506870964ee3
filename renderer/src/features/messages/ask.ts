// "Ask your doctor about this" on My results: the report to preselect when the Messages page
// opens next. Kept here (not in the frame's navigation state) because only these two pages use it.
let pending: string | null = null;

export function askAboutReport(reportId: string): void {
  pending = reportId;
}

/** The preselected report, once: a later visit to Messages starts without one. */
export function takeAskedReport(): string | null {
  const r = pending;
  pending = null;
  return r;
}
