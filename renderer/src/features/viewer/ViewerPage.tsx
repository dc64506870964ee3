// The Viewer page: without a study, a pointer to the worklist; with one, the study viewer,
// loaded on demand so cornerstone stays out of the first page load.
import { Suspense, lazy, type ComponentType } from 'react';
import { useNavigation } from '../../app/navigation';

// Once the code is here, render it directly: going through lazy() again would suspend, and
// React holds a suspended page back for ~300 ms before showing it.
let loaded: ComponentType<{ studyId: string }> | null = null;
const loadStudyViewer = () =>
  import('./StudyViewer').then((m) => {
    loaded = m.default;
    return m;
  });
const LazyStudyViewer = lazy(loadStudyViewer);

/** Fetches the viewer code ahead of the first open (the worklist calls this once it shows). */
export function preloadViewer(): void {
  void loadStudyViewer().catch(() => {});
}

export function ViewerPage() {
  const { studyId, go } = useNavigation();
  if (!studyId) {
    return (
      <section className="page" aria-labelledby="viewer-title">
        <h1 id="viewer-title">Viewer</h1>
        <p className="muted">Open a study from the worklist to read it here (Alt+1, then Enter on a study).</p>
        <button type="button" onClick={() => go('worklist')} title="Go to the worklist">
          Go to the worklist
        </button>
      </section>
    );
  }
  const StudyViewer = loaded ?? LazyStudyViewer;
  return (
    <Suspense fallback={<div className="viewer-loading muted">Opening the viewer…</div>}>
      <StudyViewer key={studyId} studyId={studyId} />
    </Suspense>
  );
}

