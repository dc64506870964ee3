// The password rules as a person reads them when a password is refused: one plain sentence
// naming every rule it breaks (it used to say "it needs not containing the username").
import { describe, expect, it } from 'vitest';
import { checkPasswordRules } from './passwords';

const rules = { minLength: 12, requireUpper: true, requireLower: false, requireDigit: true, requireSymbol: false };
const message = (password: string, username = 'alice'): string => {
  try {
    checkPasswordRules(password, rules, username);
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('checkPasswordRules', () => {
  it('names what is missing as a list', () => {
    expect(message('short')).toBe('The new password does not meet the rules: it needs at least 12 characters, an upper-case letter and a digit.');
    expect(message('longenoughpassword9')).toBe('The new password does not meet the rules: it needs an upper-case letter.');
  });

  it('says the username rule as a rule, not as a thing it needs', () => {
    expect(message('Alice-in-Wonderland-7')).toBe('The new password does not meet the rules: it must not contain the username.');
    expect(message('alice')).toBe('The new password does not meet the rules: it needs at least 12 characters, an upper-case letter and a digit, and it must not contain the username.');
  });

  it('accepts a password that meets every rule', () => {
    expect(message('Correct-Horse-Battery-9')).toBe('accepted');
  });
});
