// Who may use the headless host: single-use access tokens (the printed address, and any new one
// asked for later) that each admit one browser, and the admitted browsers' cookies, which end
// after a fixed lifetime. Also the request-target check: only origin-form paths are parsed.
import crypto from 'node:crypto';

/** An admitted browser stays admitted this long (one working day), then needs a new address. */
export const COOKIE_LIFETIME_MS = 12 * 3_600_000;
/** An address nobody opened stops working after this long. */
export const ADDRESS_LIFETIME_MS = 24 * 3_600_000;
/** At most this many admitted browsers and unused addresses are remembered (oldest dropped). */
const MAX_ENTRIES = 1_000;

export type Admission = { ok: true; cookie: string; maxAgeSeconds: number } | { ok: false; why: 'bad-token' | 'token-used' | 'token-expired' };

export interface HostAccess {
  /** A new single-use token for a new address. */
  issueToken(): string;
  /** Spends a token: the first browser that brings it is admitted, with a new cookie. */
  admit(token: string): Admission;
  isAdmitted(cookie: string | undefined): boolean;
}

const digest = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();

export function createHostAccess(options: { now?: () => number; firstToken?: string } = {}): HostAccess {
  const now = options.now ?? (() => Date.now());
  // Keyed by the sha256 of the secret: a lookup compares digests, never the secret itself.
  const tokens = new Map<string, { issuedAt: number; usedAt: number | null }>();
  const cookies = new Map<string, number>(); // digest -> expiry
  const trim = (m: Map<string, unknown>): void => {
    while (m.size > MAX_ENTRIES) m.delete(m.keys().next().value as string);
  };
  const add = (token: string): string => {
    tokens.set(digest(token).toString('hex'), { issuedAt: now(), usedAt: null });
    trim(tokens);
    return token;
  };
  if (options.firstToken) add(options.firstToken);

  return {
    issueToken: () => add(crypto.randomBytes(32).toString('base64url')),

    admit(token) {
      const key = digest(token).toString('hex');
      const entry = tokens.get(key);
      if (!entry) return { ok: false, why: 'bad-token' };
      if (entry.usedAt !== null) return { ok: false, why: 'token-used' };
      if (now() - entry.issuedAt > ADDRESS_LIFETIME_MS) return { ok: false, why: 'token-expired' };
      entry.usedAt = now();
      const cookie = crypto.randomBytes(24).toString('base64url');
      cookies.set(digest(cookie).toString('hex'), now() + COOKIE_LIFETIME_MS);
      trim(cookies);
      return { ok: true, cookie, maxAgeSeconds: Math.floor(COOKIE_LIFETIME_MS / 1000) };
    },

    isAdmitted(cookie) {
      if (!cookie) return false;
      const key = digest(cookie).toString('hex');
      const expires = cookies.get(key);
      if (expires === undefined) return false;
      if (expires <= now()) {
        cookies.delete(key);
        return false;
      }
      return true;
    },
  };
}
