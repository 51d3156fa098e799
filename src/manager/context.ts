import type { ReleaseSlot, Slots } from '../concurrency/slots.js';
import type { LoadedConfig } from '../config/config-types.js';
import type { BaseBranchRef } from '../git/base-tip.js';
import type { RepositoryInfo } from '../git/repository.js';
import type { Logger } from '../log.js';
import type { Registry } from '../state/registry.js';
import type { RepoLock } from '../state/repo-lock.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { LandingQueue } from './landing-queue.js';
import type { ManagerWarning, WarningChannel } from './warnings.js';

/** What every manager operation works with; built once by `WorktreeManager`. */
export interface ManagerContext {
  readonly repo: RepositoryInfo;
  readonly worktreeDir: string;
  /** The default base branch; its commit is read when each task starts (`baseAtTip`), never kept here. */
  readonly defaultBase: BaseBranchRef;
  /** Branch name of an issue's worktree when none is given; `{issue}` is replaced. */
  readonly branchPattern: string;
  /** The repository's configuration file, as read when the manager was made. */
  readonly config: LoadedConfig;
  readonly lock: RepoLock;
  readonly registry: Registry;
  readonly slots: Slots;
  /** Slots this manager holds, by worktree id (only `active` worktrees hold one). */
  readonly heldSlots: Map<string, ReleaseSlot>;
  readonly telemetry: Telemetry;
  /** Landings into each target, one at a time (see `landWorktree`). */
  readonly landings: LandingQueue;
  readonly logger: Logger;
  /** Warnings for the caller (see `WorktreeManager.on('warning')`), also logged. */
  readonly warnings: WarningChannel;
  /** What to say about the worktree folder at this manager's first worktree (then emptied). */
  readonly worktreeDirNotes: ManagerWarning[];
  /** Set once `.git/info/exclude` is known to cover worktreeDir. */
  excludeChecked: boolean;
}

/** Says the worktree folder's notes (see `worktreeDirNotes`) once per manager, when it makes a worktree. */
export function sayWorktreeDirNotes(ctx: ManagerContext): void {
  for (const note of ctx.worktreeDirNotes.splice(0)) ctx.warnings.emit(note);
}

/** Gives back the slot a worktree holds in this manager, if any. */
export function releaseSlot(ctx: ManagerContext, id: string): void {
  const release = ctx.heldSlots.get(id);
  if (release) {
    ctx.heldSlots.delete(id);
    release();
  }
}
