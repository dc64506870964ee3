// What the admin commands (user, db, audit) share: the CLI acts as the machine's local admin
// (audit actor `cli:<os user>`), unlocks a passphrase-mode database, and reads secrets from a
// hidden prompt or stdin, never from argv.
import os from 'node:os';
import readline from 'node:readline';
import { WorkstationError } from '../../contract';
import type { Actor } from '../../services/auth';
import type { Workstation } from '../../ipc/compose';

export function cliActor(): Actor {
  let name = 'unknown';
  try {
    name = os.userInfo().username;
  } catch {
    name = process.env.USER ?? 'unknown';
  }
  return { id: null, name: `cli:${name}` };
}

/** Reads a line without echoing it (TTY only). */
export async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new WorkstationError('INVALID_INPUT', 'No terminal to ask on: pipe the secret on standard input with --password-stdin (or set TUMORPREDICT_PASSPHRASE for the database passphrase).');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
  let asked = false;
  out._writeToOutput = (s: string) => {
    if (!asked) out.output.write(s);
  };
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    asked = true;
  });
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  // One trailing newline is the pipe's, not the password's.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Opens a passphrase-mode database by asking for the passphrase when the terminal allows. */
export async function ensureOpen(ws: Workstation): Promise<void> {
  const { store } = ws.services;
  if (store.isOpen()) return;
  const st = store.status();
  if (st.needsPassphrase === 'unlock' && process.stdin.isTTY) {
    await store.usePassphrase(await promptHidden('Database passphrase: '));
    return;
  }
  store.db(); // throws UNAVAILABLE with the store's explanation
}
