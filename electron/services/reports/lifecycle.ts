// The report life cycle as one data table: which action may move a report from which state to
// which, and which roles may do it. The service, the UI's buttons and the tests all read it.
import { WorkstationError, type ReportStatus, type Role } from '../../contract';

export const REPORT_ACTIONS = ['create', 'edit', 'acceptAi', 'rejectAi', 'addKeyImage', 'markPreliminary', 'sign', 'addAddendum', 'editNotes'] as const;
export type ReportAction = (typeof REPORT_ACTIONS)[number];
/** 'none' is a study with no report yet. */
export type LifecycleState = ReportStatus | 'none';
export const LIFECYCLE_STATES: readonly LifecycleState[] = ['none', 'draft', 'preliminary', 'final', 'rejected'];

export interface Transition {
  action: ReportAction;
  from: readonly LifecycleState[];
  /** The state after the action; 'same' keeps it; 'signed' is final, or rejected when the AI finding was rejected. */
  to: LifecycleState | 'same' | 'signed';
  roles: readonly Role[];
}

const OPEN: readonly LifecycleState[] = ['draft', 'preliminary'];
const SIGNED: readonly LifecycleState[] = ['final', 'rejected'];
// Only radiologists write, decide and sign. Researchers and patients never can; an IT admin
// administers the system but is not a reader of images.
const READERS: readonly Role[] = ['radiologist'];

export const TRANSITIONS: readonly Transition[] = [
  { action: 'create', from: ['none'], to: 'draft', roles: READERS },
  { action: 'edit', from: OPEN, to: 'same', roles: READERS },
  { action: 'acceptAi', from: OPEN, to: 'same', roles: READERS },
  { action: 'rejectAi', from: OPEN, to: 'same', roles: READERS },
  { action: 'addKeyImage', from: OPEN, to: 'same', roles: READERS },
  { action: 'markPreliminary', from: ['draft'], to: 'preliminary', roles: READERS },
  { action: 'sign', from: OPEN, to: 'signed', roles: READERS },
  { action: 'addAddendum', from: SIGNED, to: 'same', roles: READERS },
  { action: 'editNotes', from: ['draft', 'preliminary', 'final', 'rejected'], to: 'same', roles: READERS },
];

export function transitionFor(action: ReportAction, from: LifecycleState, role: Role): Transition | null {
  return TRANSITIONS.find((t) => t.action === action && t.from.includes(from) && t.roles.includes(role)) ?? null;
}

export function allowedActions(from: LifecycleState, role: Role): ReportAction[] {
  return TRANSITIONS.filter((t) => t.from.includes(from) && t.roles.includes(role)).map((t) => t.action);
}

const ACTION_WORDS: Record<ReportAction, string> = {
  create: 'start a report',
  edit: 'edit the report',
  acceptAi: 'accept the AI finding',
  rejectAi: 'reject the AI finding',
  addKeyImage: 'change the key images',
  markPreliminary: 'mark the report preliminary',
  sign: 'sign the report',
  addAddendum: 'add an addendum',
  editNotes: "edit the doctor's notes",
};

/** Throws FORBIDDEN (wrong role) or CONFLICT (wrong state) with a sentence saying what to do. */
export function requireTransition(action: ReportAction, from: LifecycleState, role: Role): Transition {
  const t = transitionFor(action, from, role);
  if (t) return t;
  // The role comes first: a role that may never do this is refused whatever the state.
  if (!TRANSITIONS.some((x) => x.action === action && x.roles.includes(role))) {
    throw new WorkstationError('FORBIDDEN', `Your role (${role}) may not ${ACTION_WORDS[action]}; only a radiologist can.`, { details: { action, state: from } });
  }
  const why = from === 'final' || from === 'rejected' ? 'it is signed and locked; add an addendum instead' : from === 'none' ? 'the study has no report yet' : `it is ${from}`;
  throw new WorkstationError('CONFLICT', `You cannot ${ACTION_WORDS[action]}: ${why}.`, { details: { action, state: from } });
}
