/**
 * Something the manager did or found that a person should hear about, though the operation went on:
 * e.g. an unreadable registry moved aside by a read-only call such as `listWorktrees`.
 */
export interface ManagerWarning {
  /**
   * `REGISTRY_UNREADABLE`: the registry file could not be parsed and was moved to `movedTo`.
   * `WORKTREE_DIR_INSIDE`: the default folder beside the repository could not be used, so worktrees
   * go in `.worktrees` inside it (`path`). `SHARED_NODE_MODULES`: the worktree folder (`path`) lies
   * inside the repository, below a `node_modules` that Node's module lookup finds from every worktree.
   * The last two are said once per manager, at its first worktree.
   */
  readonly code: 'REGISTRY_UNREADABLE' | 'WORKTREE_DIR_INSIDE' | 'SHARED_NODE_MODULES';
  /** One line, meant to be shown as is (`warning: <message>`). */
  readonly message: string;
  /** The file concerned. */
  readonly path: string;
  /** Where the file was moved, when it was. */
  readonly movedTo?: string;
}
