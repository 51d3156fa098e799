import { type Logger, silentLogger } from '../index.js';
import type { GlobalOptions } from './context.js';

/**
 * The logger handed to the library: with `--log-json`, pino writing JSON lines synchronously to
 * stderr (debug level with `--verbose`); otherwise silent, so stdout and stderr stay for people.
 */
export async function createCliLogger(globals: GlobalOptions): Promise<Logger> {
  if (!globals.logJson) return silentLogger;
  // Loaded only when asked for: pino is the heaviest import of the CLI.
  const { pino } = await import('pino');
  // Synchronous, so lines written just before exit are not lost.
  const log = pino(
    { name: 'miyabi-worktree', level: globals.verbose ? 'debug' : 'info' },
    pino.destination({ dest: 2, sync: true }),
  );
  return {
    debug: (fields, message) => log.debug(fields, message),
    info: (fields, message) => log.info(fields, message),
    warn: (fields, message) => log.warn(fields, message),
    error: (fields, message) => log.error(fields, message),
  };
}
