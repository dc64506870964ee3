// Password hashing (argon2id) and the admin's password rules.
import { hash, verify } from '@node-rs/argon2';
import { WorkstationError, type PasswordRules, type Settings } from '../../contract';

/**
 * argon2id, m = 64 MiB, t = 3, p = 1 (RFC 9106's second recommended setting with one lane).
 * About 0.15-0.3 s per sign-in on a 2-core machine: unnoticeable for a person, while each offline
 * guess against a stolen hash costs 64 MiB of memory, which is what defeats GPU cracking rigs.
 * One lane because a desktop signs in one person at a time and lanes only help the defender when
 * cores are idle; the parameters sit in each PHC hash string, so they can be raised later and
 * old hashes still verify (and are rehashed at the next sign-in).
 */
export const ARGON2_PARAMS = { algorithm: 2 as const, memoryCost: 65536, timeCost: 3, parallelism: 1, outputLen: 32 };

export async function hashPassword(password: string): Promise<string> {
  return hash(password.normalize('NFC'), ARGON2_PARAMS as Parameters<typeof hash>[1]);
}

export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password.normalize('NFC'));
  } catch {
    return false;
  }
}

export function needsRehash(phc: string): boolean {
  return !phc.startsWith('$argon2id$') || !phc.includes(`m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}`);
}

export function rulesFrom(s: Settings): PasswordRules {
  return {
    minLength: s.passwordMinLength,
    requireUpper: s.passwordRequireUpper,
    requireLower: s.passwordRequireLower,
    requireDigit: s.passwordRequireDigit,
    requireSymbol: s.passwordRequireSymbol,
  };
}

/** "a, b and c" */
function listing(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** Throws INVALID_INPUT naming, in one plain sentence, every rule the password breaks. */
export function checkPasswordRules(password: string, rules: PasswordRules, username: string): void {
  const needs: string[] = [];
  if ([...password].length < rules.minLength) needs.push(`at least ${rules.minLength} characters`);
  if (rules.requireUpper && !/\p{Lu}/u.test(password)) needs.push('an upper-case letter');
  if (rules.requireLower && !/\p{Ll}/u.test(password)) needs.push('a lower-case letter');
  if (rules.requireDigit && !/\p{Nd}/u.test(password)) needs.push('a digit');
  if (rules.requireSymbol && !/[^\p{L}\p{Nd}]/u.test(password)) needs.push('a symbol');
  const hasUsername = username.length >= 4 && password.toLowerCase().includes(username.toLowerCase());
  const broken = hasUsername ? [...needs, 'not containing the username'] : needs;
  if (broken.length) {
    const parts = [needs.length ? `it needs ${listing(needs)}` : '', hasUsername ? 'it must not contain the username' : ''].filter(Boolean);
    throw new WorkstationError('INVALID_INPUT', `The new password does not meet the rules: ${parts.join(', and ')}.`, { details: { fields: ['password'], rules: broken } });
  }
}
