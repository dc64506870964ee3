// Handlers for the auth.* channels: setup, database unlock, sign-in/out, own password and TOTP.
// The session token is set on the connection here and never leaves the main process.
import { WorkstationError, DEFAULT_SETTINGS } from '../../contract';
import { checkPasswordRules, type Session } from '../../services/auth';
import { MIN_PASSPHRASE_LENGTH } from '../../services/store';
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';

type AuthChannels =
  | 'auth.setupStatus'
  | 'auth.unlockDatabase'
  | 'auth.createFirstAdmin'
  | 'auth.login'
  | 'auth.logout'
  | 'auth.me'
  | 'auth.changePassword'
  | 'auth.redeemResetCode'
  | 'auth.totpBegin'
  | 'auth.totpConfirm'
  | 'auth.totpDisable';

/** Handlers of non-public channels run only with a session (the table checks); this narrows the type. */
export function sessionOf(s: Session | null): Session {
  if (!s) throw new WorkstationError('UNAUTHENTICATED', 'Please sign in.');
  return s;
}

export function authHandlers(services: Services): Pick<Handlers, AuthChannels> {
  const { store, auth, audit, logger } = services;
  return {
    'auth.setupStatus': () => {
      const st = store.status();
      return {
        databaseUnlocked: st.unlocked,
        needsPassphrase: st.needsPassphrase,
        keySource: st.keySource,
        modeStatement: st.modeStatement,
        adminExists: st.unlocked ? auth.adminExists() : false,
        problem: st.problem,
        passwordRules: st.unlocked
          ? auth.passwordRules()
          : { minLength: DEFAULT_SETTINGS.passwordMinLength, requireUpper: DEFAULT_SETTINGS.passwordRequireUpper, requireLower: DEFAULT_SETTINGS.passwordRequireLower, requireDigit: DEFAULT_SETTINGS.passwordRequireDigit, requireSymbol: DEFAULT_SETTINGS.passwordRequireSymbol },
        minPassphraseLength: MIN_PASSPHRASE_LENGTH,
      };
    },
    'auth.unlockDatabase': async (req) => {
      const st = store.status();
      if (st.unlocked) return { ok: true as const };
      if (st.needsPassphrase === 'create') throw new WorkstationError('CONFLICT', 'There is no database yet: first-run setup creates it with the passphrase you choose.');
      if (st.needsPassphrase !== 'unlock') throw new WorkstationError('UNAVAILABLE', st.problem ?? 'The database cannot be unlocked with a passphrase.');
      await store.usePassphrase(req.passphrase);
      audit.append({ actorId: null, actor: 'anonymous', action: 'store.unlock', outcome: 'success', detail: { mode: 'passphrase' } });
      logger.info('store.unlocked');
      return { ok: true as const };
    },
    'auth.createFirstAdmin': async (req, ctx) => {
      const st = store.status();
      if (!st.unlocked) {
        if (st.needsPassphrase !== 'create') throw new WorkstationError('UNAVAILABLE', st.problem ?? 'The database is not open.');
        if (!req.passphrase) throw new WorkstationError('INVALID_INPUT', 'Choose the database passphrase: this workstation has no OS keychain, so the passphrase protects the database.', { details: { fields: ['passphrase'] } });
        // Check the admin password against the default rules before the database is made.
        checkPasswordRules(req.password, { minLength: DEFAULT_SETTINGS.passwordMinLength, requireUpper: false, requireLower: false, requireDigit: false, requireSymbol: false }, req.username);
        await store.usePassphrase(req.passphrase);
      }
      const { user, token } = await auth.createFirstAdmin(req, ctx.connection.transport);
      ctx.connection.sessionToken = token;
      return { user };
    },
    'auth.login': async (req, ctx) => {
      const r = await auth.login(req, ctx.connection.transport);
      if (r.status === 'totp-required') return { user: null, totpRequired: true };
      ctx.connection.sessionToken = r.token;
      return { user: r.user, totpRequired: false };
    },
    'auth.logout': (_req, ctx) => {
      if (ctx.connection.sessionToken && store.isOpen()) auth.logout(ctx.connection.sessionToken);
      ctx.connection.sessionToken = null;
      return { ok: true as const };
    },
    'auth.me': (_req, ctx) => {
      const s = sessionOf(ctx.session);
      return { user: auth.getUser(s.userId), idleMinutes: services.settings.get().sessionIdleMinutes, passwordRules: auth.passwordRules() };
    },
    'auth.changePassword': async (req, ctx) => {
      await auth.changePassword(sessionOf(ctx.session), req.currentPassword, req.newPassword, ctx.connection.sessionToken);
      return { ok: true as const };
    },
    'auth.redeemResetCode': async (req) => {
      await auth.redeemResetCode(req);
      return { ok: true as const };
    },
    'auth.totpBegin': (_req, ctx) => auth.totpBegin(sessionOf(ctx.session)),
    'auth.totpConfirm': (req, ctx) => {
      auth.totpConfirm(sessionOf(ctx.session), req.code);
      return { totpEnabled: true as const };
    },
    'auth.totpDisable': async (req, ctx) => {
      await auth.totpDisable(sessionOf(ctx.session), req.password);
      return { totpEnabled: false as const };
    },
  };
}
