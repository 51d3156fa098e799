import { appendFile, readFile } from 'node:fs/promises';
import { formatBytes } from '../core/size.js';
import type { TaskUsage } from '../core/task-result.js';
import type { WorktreeInfo } from '../core/types.js';
import type { MemorySampler, MemoryWatch } from '../process/memory-sampler.js';
import { MemoryLimitAbort, type Progress } from './task-outcome.js';

/** The variable naming the file an agent may write its tokens and cost to (see {@link TaskUsage}). */
export const USAGE_FILE_VAR = 'MIYABI_USAGE_FILE';

/** What bounds and measures a task's command: the pool's sampler and its `maxMemory`. */
export interface TaskBounds {
  readonly sampler: MemorySampler;
  /** Bytes; undefined: measured, never stopped. */
  readonly maxMemory: number | undefined;
}

/** The task's usage file, next to its log: `<logDir>/<batch>/issue-<n>.usage.json`. */
export function usageFile(logFile: string): string {
  return `${logFile.replace(/\.log$/, '')}.usage.json`;
}

/** `MIYABI_USAGE_FILE` for the task's processes. */
export function usageEnvironment(logFile: string): Record<string, string> {
  return { [USAGE_FILE_VAR]: usageFile(logFile) };
}

/**
 * Starts measuring the task's command (and, with `maxMemory`, bounding it: above the limit its
 * processes are killed and `controller` aborts with {@link MemoryLimitAbort}). Synchronous: the
 * command starts right after (a usage file is per batch and task, so none is left from before).
 */
export function watchExecution(
  bounds: TaskBounds | undefined,
  worktree: WorktreeInfo,
  controller: AbortController,
): MemoryWatch | undefined {
  if (!bounds) return undefined;
  const limit = bounds.maxMemory;
  return bounds.sampler.watch(worktree.id, {
    ...(limit !== undefined ? { limitBytes: limit } : {}),
    onExceed: (hit) => {
      const top = `pid ${hit.top.pid} (${shorten(hit.top.command)}) held ${formatBytes(hit.top.rssBytes)}`;
      controller.abort(
        new MemoryLimitAbort(
          `its processes used ${formatBytes(hit.totalBytes)}, above the memory limit of ${formatBytes(hit.limitBytes)}, and were stopped; the largest: ${top}`,
        ),
      );
    },
  });
}

/** Ends the measure: the task's resources and the usage its agent reported, on `progress`. */
export async function endExecution(
  watch: MemoryWatch | undefined,
  progress: Progress,
  logFile: string,
): Promise<void> {
  const resources = watch?.stop();
  if (resources) progress.resources = resources;
  const usage = await readTaskUsage(usageFile(logFile), logFile);
  if (usage) progress.usage = usage;
}

/**
 * The usage file's counts; undefined when there is none. A file that is not JSON or has fields of
 * the wrong type is one warning line in the task's log, and the task's outcome is unchanged.
 */
export async function readTaskUsage(file: string, logFile: string): Promise<TaskUsage | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const problem = (why: string) =>
    appendFile(logFile, `# miyabi-worktree: warning: ${USAGE_FILE_VAR} ${file} ignored: ${why}\n`).then(
      () => undefined,
      () => undefined,
    );
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return problem('it is not JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return problem('it is not a JSON object like {"inputTokens": 1200, "costUsd": 0.04}');
  }
  const record = data as Record<string, unknown>;
  const usage: { -readonly [K in keyof TaskUsage]: TaskUsage[K] } = {};
  for (const key of ['inputTokens', 'outputTokens', 'costUsd'] as const) {
    const value = record[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      return problem(`${key} must be a number of at least 0, got ${JSON.stringify(value)}`);
    }
    usage[key] = value;
  }
  if (record.model !== undefined) {
    if (typeof record.model !== 'string') {
      return problem(`model must be a string, got ${JSON.stringify(record.model)}`);
    }
    usage.model = record.model;
  }
  return Object.keys(usage).length > 0 ? usage : undefined;
}

function shorten(command: string): string {
  return command.length > 60 ? `${command.slice(0, 59)}…` : command;
}
