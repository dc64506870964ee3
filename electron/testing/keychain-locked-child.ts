// Child process for the locked-keychain test, run inside its own D-Bus session with its own
// gnome-keyring: waits until the login collection takes a write, locks it over D-Bus (as a
// screen lock or a fresh login without unlock leaves it), then asks the secret vault to keep a
// secret there and prints what the vault said (the message and the log line) as JSON.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { createLogger } from '../services/log';
import { createSecretVault } from '../services/store';

const dir = process.argv[2]!;
const keytar = createRequire(import.meta.url)('keytar') as { setPassword(s: string, a: string, p: string): Promise<void> };

async function main(): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      await keytar.setPassword('tp-locked-probe', 'probe', 'x');
      break;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  execFileSync('gdbus', ['call', '--session', '--dest', 'org.freedesktop.secrets', '--object-path', '/org/freedesktop/secrets', '--method', 'org.freedesktop.Secret.Service.Lock', "['/org/freedesktop/secrets/collection/login']"], { stdio: 'pipe' });
  const logFile = path.join(dir, 'vault.log');
  const vault = createSecretVault({
    dataFolder: dir,
    mode: () => 'keychain',
    db: () => {
      throw new Error('keychain mode never opens the database for a secret');
    },
    key: () => Buffer.alloc(32),
    logger: createLogger({ level: 'debug', file: logFile, stderr: false }),
  });
  let message = '';
  let code = '';
  try {
    await vault.set('dicomweb', 'a-password', 'hospital server password');
    message = 'stored';
  } catch (err) {
    message = (err as Error).message;
    code = (err as { code?: string }).code ?? '';
  }
  process.stdout.write(JSON.stringify({ message, code, log: fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '' }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
