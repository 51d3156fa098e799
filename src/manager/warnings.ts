import type { ManagerWarning } from '../core/warning.js';
import { type Logger, safeLog } from '../log.js';

export type { ManagerWarning };

export type WarningListener = (warning: ManagerWarning) => void;

/** Delivers warnings to the logger (level `warn`) and to every listener; a throwing listener is ignored. */
export class WarningChannel {
  readonly #listeners = new Set<WarningListener>();

  constructor(private readonly logger: Logger) {}

  on(listener: WarningListener): void {
    this.#listeners.add(listener);
  }

  off(listener: WarningListener): void {
    this.#listeners.delete(listener);
  }

  emit(warning: ManagerWarning): void {
    safeLog(this.logger, 'warn', { ...warning }, warning.message);
    for (const listener of [...this.#listeners]) {
      try {
        listener(warning);
      } catch {
        // A listener must never fail the operation that warned.
      }
    }
  }
}
