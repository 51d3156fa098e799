import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MiyabiError } from '../errors.js';
import { worktreeEnvironment } from '../process/task-environment.js';
import { resolvePrepareSettings } from '../setup/prepare-settings.js';
import { type PrepareResult, type PrepareSettings, prepareWorktree } from '../setup/prepare-worktree.js';
import { WORKTREE_INCLUDE_FILE } from '../setup/worktree-include.js';
import type { ManagerContext } from './context.js';
import { recordFailure } from './record-failure.js';
import { assertWorktreeId } from './validate.js';

/** Options of `WorktreeManager.prepareWorktree`. */
export interface PrepareWorktreeOptions extends PrepareSettings {
  /** Environment of the setup commands on top of the worktree's `MIYABI_*` variables. */
  readonly env?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Setup output is appended here; else only its last lines are kept (for the error). */
  readonly logFile?: string;
  /** Each line the setup commands print, and each `.worktreeinclude` file that could not be copied. */
  readonly onLine?: (line: string) => void;
  /** Groups the setup events with a batch (the pool sets it). */
  readonly batchId?: string;
}

/** Copies `.worktreeinclude` files and runs `setup` in a worktree (see `WorktreeManager.prepareWorktree`). */
export async function prepareWorktreeOf(
  ctx: ManagerContext,
  id: string,
  options: PrepareWorktreeOptions = {},
): Promise<PrepareResult> {
  const settings = resolvePrepareSettings(ctx.config.config, options, 'options');
  const record = await registeredRecord(ctx, id);
  const eventBase = {
    worktreeId: record.id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    ...(options.batchId !== undefined ? { batchId: options.batchId } : {}),
  };
  const started = performance.now();
  ctx.telemetry.record({ type: 'setup-start', ...eventBase });
  try {
    const prepared = await prepareWorktree(record, {
      repoRoot: ctx.repo.root,
      commonDir: ctx.repo.commonDir,
      worktreeDir: ctx.worktreeDir,
      config: settings,
      env: { ...options.env, ...worktreeEnvironment(record, options.batchId) },
      signal: options.signal,
      logFile: options.logFile,
      onLine: options.onLine,
    });
    ctx.telemetry.record({
      type: 'setup-complete',
      ...eventBase,
      durationMs: Math.round(performance.now() - started),
      copied: prepared.copied.length,
      commands: prepared.setup.length,
    });
    return prepared;
  } catch (error) {
    recordFailure(ctx, 'setup', eventBase, started, error);
    throw error;
  }
}

/** True when preparing would do anything: setup commands, or include on and a `.worktreeinclude` there. */
export function needsPreparation(repoRoot: string, settings: Required<PrepareSettings>): boolean {
  return (
    settings.setup.length > 0 ||
    settings.share.length > 0 ||
    (settings.include && existsSync(join(repoRoot, WORKTREE_INCLUDE_FILE)))
  );
}

/** The record of a worktree whose folder exists: the registry alone, no git call (it runs in every task). */
async function registeredRecord(ctx: ManagerContext, id: string) {
  assertWorktreeId(id);
  const record = (await ctx.registry.read()).find((r) => r.id === id);
  if (!record || !existsSync(record.path)) {
    throw new MiyabiError('NOT_FOUND', `no worktree with id '${id}'`, { details: { id } });
  }
  return record;
}
