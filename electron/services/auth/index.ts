// Accounts, sign-in, sessions, password rules, reset codes and TOTP.
export { createAuthService } from './auth-service';
export type { AuthService, AuthServiceDeps, Actor, Session, LoginResult } from './auth-service';
export { ARGON2_PARAMS, hashPassword, verifyPassword, checkPasswordRules } from './passwords';
export { totpCode, totpStep, TOTP_ISSUER } from './totp';
