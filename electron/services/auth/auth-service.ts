// The auth service: accounts, sign-in with lockout and TOTP, sessions, reset codes and identity
// confirmation, assembled from one part per responsibility over one shared context. Every
// account event writes an audit row (the parts do).
import type { PasswordRules, ResetCode, Role, User } from '../../contract';
import { createAccounts } from './accounts';
import { createAuthContext, type Actor, type AuthServiceDeps, type Session } from './context';
import { createLockout } from './lockout';
import { createResetCodes } from './reset-codes';
import { createSessions } from './sessions';
import { createSignIn, type IdentityConfirmation, type LoginResult } from './sign-in';
import { createTotpEnrolment } from './totp-enrolment';

export type { Actor, AuthServiceDeps, Session } from './context';
export type { IdentityConfirmation, LoginResult } from './sign-in';

export interface AuthService {
  adminExists(): boolean;
  passwordRules(): PasswordRules;
  createFirstAdmin(input: { username: string; displayName: string; password: string }, transport: string): Promise<{ user: User; token: string }>;
  login(input: { username: string; password: string; totpCode?: string | undefined }, transport: string): Promise<LoginResult>;
  /**
   * Confirms that the signed-in user is at the keyboard: their password, and their TOTP code when
   * enrolled (a code is used once). A wrong password or code counts toward the same lockout as a
   * sign-in; a locked account is refused. Throws WorkstationError UNAUTHENTICATED with
   * details.reason 'bad-password' | 'totp-required' | 'bad-totp', or details.locked = true.
   */
  confirmIdentity(session: Session, input: { password: string; totpCode?: string | undefined }): Promise<IdentityConfirmation>;
  logout(token: string): void;
  resolve(token: string): Session | null;
  getUser(id: string): User;
  /** keepToken: the session that asked stays signed in; every other session of the account ends. */
  changePassword(session: Session, currentPassword: string, newPassword: string, keepToken?: string | null): Promise<void>;
  redeemResetCode(input: { username: string; code: string; newPassword: string }): Promise<void>;
  totpBegin(session: Session): Promise<{ secret: string; uri: string; qrDataUrl: string }>;
  totpConfirm(session: Session, code: string): void;
  totpDisable(session: Session, password: string): Promise<void>;
  listUsers(): User[];
  createUser(actor: Actor, input: { username: string; displayName: string; role: Role; patientId?: string | null | undefined; password?: string | undefined }): Promise<{ user: User; resetCode: ResetCode | null }>;
  updateUser(actor: Actor, id: string, patch: { role?: Role | undefined; displayName?: string | undefined; patientId?: string | null | undefined; disableTotp?: boolean | undefined }): User;
  lockUser(actor: Actor, id: string): User;
  unlockUser(actor: Actor, id: string): User;
  issueResetCode(actor: Actor, id: string): ResetCode;
  forceLogout(actor: Actor, id: string): number;
  findUserByUsername(username: string): User | null;
}

export function createAuthService(deps: AuthServiceDeps): AuthService {
  const ctx = createAuthContext(deps);
  const lockout = createLockout(ctx);
  const sessions = createSessions(ctx);
  const signIn = createSignIn(ctx, lockout, sessions);
  const resetCodes = createResetCodes(ctx, lockout, sessions);
  const totp = createTotpEnrolment(ctx, signIn);
  const accounts = createAccounts(ctx, { sessions, signIn, resetCodes });
  return {
    adminExists: accounts.adminExists,
    passwordRules: accounts.passwordRules,
    createFirstAdmin: accounts.createFirstAdmin,
    login: signIn.login,
    confirmIdentity: signIn.confirmIdentity,
    logout: sessions.logout,
    resolve: sessions.resolve,
    getUser: accounts.getUser,
    changePassword: accounts.changePassword,
    redeemResetCode: resetCodes.redeem,
    totpBegin: totp.begin,
    totpConfirm: totp.confirm,
    totpDisable: totp.disable,
    listUsers: accounts.listUsers,
    createUser: accounts.createUser,
    updateUser: accounts.updateUser,
    lockUser: accounts.lockUser,
    unlockUser: accounts.unlockUser,
    issueResetCode: accounts.issueResetCode,
    forceLogout: accounts.forceLogout,
    findUserByUsername: accounts.findUserByUsername,
  };
}
