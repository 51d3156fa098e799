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
