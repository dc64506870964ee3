// Shared navigation state of the frame: which page shows and which study the viewer has open,
// so a feature (the worklist) can open a study in another (the viewer) without importing it; and
// the object a page was sent to show (a notification's conversation or review item).
import { createContext, useContext } from 'react';
import type { PageId } from '@contract/index';

export interface NavigationValue {
  readonly page: PageId;
  /** The study open in the viewer, or null. */
  readonly studyId: string | null;
  /** Switches page; `objectId` is what that page should show first (it takes it with takeObject). */
  go(page: PageId, objectId?: string): void;
  /** Opens a study in the viewer and switches to it. */
  openStudy(studyId: string): void;
  /** A study whose report the Reports page should open at once (set by openReport), or null. */
  readonly reportFor: string | null;
  /** Opens the Reports page on this study's report (the viewer's Report button, an approved review item). */
  openReport(studyId: string): void;
  /** The Reports page took reportFor: forget it. */
  clearReportFor(): void;
  /** The object this page was sent to show, once (null when none). */
  takeObject(page: PageId): string | null;
}

export const NavigationContext = createContext<NavigationValue | null>(null);

export function useNavigation(): NavigationValue {
  const value = useContext(NavigationContext);
  if (!value) throw new Error('useNavigation() outside the app frame');
  return value;
}
