// The permission matrix: for every channel, who may call it. This table is the only place that
// decides access; the handler table enforces it on every call and the renderer reads it to
// show only the navigation a role may use. 'public' means no session is needed.
import type { ChannelName } from './channels';
import type { Role } from './roles';

export type Access = 'public' | readonly Role[];

const STAFF = ['admin', 'radiologist', 'researcher'] as const;

export const PERMISSIONS: { readonly [C in ChannelName]: Access } = {
  'system.health': 'public',
  'system.info': STAFF,
};

export function mayCall(role: Role | null, channelName: ChannelName): boolean {
  const access = PERMISSIONS[channelName];
  if (access === 'public') return true;
  return role !== null && access.includes(role);
}

/** Pages of the app frame and the channel whose permission opens each. */
export const PAGES = [
  { id: 'worklist', label: 'Worklist', roles: ['radiologist'] },
  { id: 'viewer', label: 'Viewer', roles: ['radiologist'] },
  { id: 'reports', label: 'Reports', roles: ['radiologist'] },
  { id: 'research', label: 'Research', roles: ['researcher'] },
  { id: 'admin', label: 'Administration', roles: ['admin'] },
  { id: 'messages', label: 'Messages', roles: ['radiologist', 'patient'] },
  { id: 'patient', label: 'My results', roles: ['patient'] },
  { id: 'about', label: 'About', roles: ['admin', 'radiologist', 'researcher', 'patient'] },
] as const satisfies readonly { id: string; label: string; roles: readonly Role[] }[];
export type PageId = (typeof PAGES)[number]['id'];

export function pagesFor(role: Role): readonly (typeof PAGES)[number][] {
  return PAGES.filter((p) => (p.roles as readonly Role[]).includes(role));
}
