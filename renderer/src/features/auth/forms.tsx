// Small pieces the sign-in screens share: a labelled field, the error line, and the password
// rules in words.
import type { InputHTMLAttributes } from 'react';
import type { PasswordRules } from '@contract/index';

export function Field(props: { label: string; id: string } & InputHTMLAttributes<HTMLInputElement>) {
  const { label, id, ...input } = props;
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input id={id} name={id} {...input} style={{ width: '100%' }} />
    </>
  );
}

export function ErrorLine(props: { error: string | null }) {
  return props.error ? (
    <p role="alert" className="error" data-testid="form-error">
      {props.error}
    </p>
  ) : null;
}

/** The rules in one sentence, shown beside every new-password field before anyone types. */
export function rulesText(r: PasswordRules): string {
  const parts = [`at least ${r.minLength} characters`];
  if (r.requireUpper) parts.push('an upper-case letter');
  if (r.requireLower) parts.push('a lower-case letter');
  if (r.requireDigit) parts.push('a digit');
  if (r.requireSymbol) parts.push('a symbol');
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
  return `A password needs ${list}, and must not contain the username.`;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
