import { type Logger, safeLog } from '../log.js';

/**
 * Something the manager did or found that a person should hear about, though the operation went on:
 * e.g. an unreadable registry moved aside by a read-only call such as `listWorktrees`.
 */
export interface ManagerWarning {
  /** `REGISTRY_UNREADABLE`: the registry file could not be parsed and was moved to `movedTo`. */
  readonly code: 'REGISTRY_UNREADABLE';
  /** One line, meant to be shown as is (`warning: <message>`). */
  readonly message: string;
  /** The file concerned. */
  readonly path: string;
  /** Where the file was moved, when it was. */
  readonly movedTo?: string;
}

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
