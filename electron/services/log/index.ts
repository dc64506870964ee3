// Structured logging with redaction owned by the logger.
export { createLogger, redact, REDACTED, silentLogger } from './logger';
export type { Logger, LoggerOptions, LogLevel } from './logger';
