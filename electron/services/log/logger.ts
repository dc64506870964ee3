// The one structured logger. It writes JSON lines and redacts patient-identifying and secret
// fields itself, by key, at any depth, so no caller has to remember to.
import fs from 'node:fs';
import path from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Keys whose values never reach a log line. Matching is case-insensitive on the key with
 * punctuation removed, so patient_name, patientName and PatientName all match.
 */
const REDACTED_KEYS = new Set(
  [
    'password', 'newpassword', 'oldpassword', 'passphrase', 'secret', 'totpsecret', 'token', 'sessiontoken',
    'key', 'dbkey', 'apikey', 'authorization', 'cookie', 'resetcode', 'code', 'otp',
    'patientname', 'patientid', 'patientbirthdate', 'birthdate', 'patientsex', 'patientaddress',
    'name', 'fullname', 'displayname', 'accessionnumber', 'otherpatientids', 'referringphysicianname',
    'text', 'body', 'content', 'findings', 'impression', 'note', 'message',
  ].map((k) => k.toLowerCase()),
);

export const REDACTED = '[redacted]';

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    // Error messages can quote user input; keep the class, code and stack frames only.
    const code = (value as { code?: unknown }).code;
    return { error: value.name, code: typeof code === 'string' ? code : undefined, stack: value.stack?.split('\n').slice(1, 6).join('\n') };
  }
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = REDACTED_KEYS.has(normaliseKey(k)) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** File that receives every line (JSON lines). */
  file?: string;
  /** Also write lines to stderr (the CLI keeps this off so its output stays clean). */
  stderr?: boolean;
  bindings?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS[options.level ?? 'info'];
  let fd: number | null = null;
  if (options.file) {
    fs.mkdirSync(path.dirname(options.file), { recursive: true, mode: 0o700 });
    fd = fs.openSync(options.file, 'a', 0o600);
  }
  const sink = (line: string): void => {
    if (fd !== null) fs.writeSync(fd, line + '\n');
    if (options.stderr) process.stderr.write(line + '\n');
  };
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: LogLevel, event: string, fields?: Record<string, unknown>): void => {
      if (LEVELS[level] < min) return;
      const record = { t: new Date().toISOString(), level, event, ...(redact({ ...bindings, ...fields }) as object) };
      sink(JSON.stringify(record));
    };
    return {
      debug: (e, f) => write('debug', e, f),
      info: (e, f) => write('info', e, f),
      warn: (e, f) => write('warn', e, f),
      error: (e, f) => write('error', e, f),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return make(options.bindings ?? {});
}

/** A logger that drops everything, for short-lived CLI commands that print their own output. */
export const silentLogger: Logger = createLogger({ level: 'error' });
