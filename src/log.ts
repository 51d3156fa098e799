/**
 * The logger the library writes structured lines to: pino's shape (object first, then a message),
 * so a pino instance can be passed as is. The default writes nothing.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
}

const noop = () => {};

/** A logger that discards everything: libraries do not print unless asked. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** Calls a logger without letting a throwing logger break the operation it describes. */
export function safeLog(
  logger: Logger,
  level: keyof Logger,
  fields: Record<string, unknown>,
  message: string,
): void {
  try {
    logger[level](fields, message);
  } catch {
    // A broken logger must never fail a git operation.
  }
}
