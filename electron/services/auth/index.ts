// Accounts, sign-in, sessions, password rules, reset codes, TOTP and identity confirmation.
export { createAuthService } from './auth-service';
export type { AuthService, AuthServiceDeps, Actor, Session, LoginResult, IdentityConfirmation } from './auth-service';
export { LOCKED_MESSAGE } from './lockout';
export { ARGON2_PARAMS, hashPassword, verifyPassword, checkPasswordRules } from './passwords';
export { totpCode, totpStep, TOTP_ISSUER } from './totp';
