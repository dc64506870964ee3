// Who is signed in, for the whole renderer. The session token itself never reaches the
// renderer: it lives with the connection in the main process.
import { createContext, useContext } from 'react';
import type { Role } from '@contract/index';

export interface SignedInUser {
  readonly userId: string;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
}

export interface SessionValue {
  readonly user: SignedInUser;
  signOut(): Promise<void>;
}

export const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession() outside a signed-in frame');
  return value;
}
