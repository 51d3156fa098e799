import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Overlap } from '../core/overlap.js';
import type { WorktreeTask } from '../core/task.js';
import type { TaskResult } from '../core/task-result.js';
import type { MergeStrategy } from '../core/types.js';
import type { VariantSpec } from '../core/variant.js';
import { type BatchOwner, isBatchOwnerAlive } from './batch-owner.js';
import { loadWriteFileAtomic } from './lazy-modules.js';
import { RepoLock } from './repo-lock.js';
import { withStateErrors } from './state-errors.js';

/** The options a batch ran with, as plain data (no functions, no clients). */
export interface BatchOptions {
  readonly maxConcurrency: number;
  readonly timeoutMs: number;
  readonly failFast: boolean;
  readonly autoCleanup: boolean;
  readonly reuse: boolean;
  readonly existingBranches: 'restart' | 'continue';
  /** `resolve` when conflicts were handed back to a resolver. */
  readonly onConflict: 'keep' | 'remove' | 'resolve';
  readonly merge?: { readonly into?: string; readonly strategy?: MergeStrategy };
  readonly push?: { readonly remote: string };
  readonly pullRequest: boolean;
  /**
   * Where `pullRequest` opens them (never a token: `run --resume` finds one again); absent in
   * older records, which cannot be resumed with pull requests.
   */
  readonly pullRequestTo?: {
    /** `owner/repo`. */
    readonly repo: string;
    /** The GitHub API the batch used. */
    readonly baseUrl?: string;
    readonly draft?: boolean;
    readonly reviewers?: readonly string[];
    readonly labels?: readonly string[];
  };
  /** With a queue: its name. */
  readonly queue?: string;
  /** The landing check every landing had to pass (absent: none); a resumed batch lands with it too. */
  readonly check?: {
    readonly command: readonly string[];
    readonly timeoutMs: number;
    readonly batch: number;
  };
  /** With a check: what a failing check did to its task (`agent`: handed back to a fixer). */
  readonly onCheckFail?: 'keep' | 'remove' | 'agent';
  /** With a check: the batch ran although the check failed on its base. */
  readonly allowRedBase?: boolean;
  /**
   * With a queue: where it is, for `run --resume`: the Redis URL without its password (never
   * stored; a resume is given it again), the remote the workers serve, and the queue options a
   * resume keeps.
   */
  readonly queueAt?: {
    readonly connection: string;
    readonly remote: string;
    readonly queueTimeoutMs?: number;
    readonly shareArchives?: true;
  };
  /** The pool's variants when an issue ran more than once (a resumed batch runs the same attempts). */
  readonly variants?: readonly VariantSpec[];
  /** The score command that ranked the variants (a resumed batch ranks with it too). */
  readonly score?: { readonly command: readonly string[]; readonly timeoutMs: number };
  readonly variantsStopAt?: number;
}

/**
 * One batch, as `<state dir>/batches/<id>.json` holds it: what it was asked to do and how each task
 * ended. The one source of every count the summary, the report, the HTML page, `--json` and the exit
 * code show; rewritten when a later `merge` (or landing) changes a task's outcome. Plain JSON data.
 */
export interface BatchRecord {
  readonly version: 1;
  readonly id: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** ISO 8601; absent while the batch runs (or when its process died: see `owner`). */
  readonly endedAt?: string;
  /** The process that runs (or last ran: `run --resume`) the batch: pid, host, boot id and start time. */
  readonly owner: BatchOwner;
  /** The base branch the tasks start from (unless a task names its own; each worktree records its own base). */
  readonly base: { readonly branch: string };
  /** Where successful tasks go: the merge target branch, the push remote (absent when not asked for). */
  readonly target: { readonly merge?: string; readonly push?: string };
  readonly options: BatchOptions;
  /** The tasks' issue numbers, in input order. */
  readonly issues: readonly number[];
  /** The tasks as given (plain data), for `run --resume`; absent in older records (then one per issue). */
  readonly tasks?: readonly WorktreeTask[];
  /** The command (argv, placeholders unexpanded) when the executor is a command; absent for a function. */
  readonly command?: readonly string[];
  /**
   * Written before a task's merge moves the target ref: the branch tip about to be merged. A resumed
   * batch whose target already contains it does not merge (nor run) that task again.
   */
  readonly mergeIntents?: readonly MergeIntent[];
  /** Each time `run --resume` took the batch over: when, and by which process. */
  readonly resumes?: readonly { readonly at: string; readonly pid: number }[];
  /**
   * What the gate and the score said of each variant's attempt that ended, by attempt key (`42/v2`):
   * a resumed batch keeps them rather than judge (or run) those attempts again.
   */
  readonly judgements?: Readonly<Record<string, AttemptJudgement>>;
  /** The results of the tasks that ended so far, in input order (all of them once `endedAt` is set). */
  readonly results: readonly TaskResult[];
  /** What the conflict radar saw (the latest result of each pair). */
  readonly overlaps: readonly Overlap[];
  /** Wall time of the whole batch, once it ended. */
  readonly totalDurationMs?: number;
  /** ISO 8601 of the last rewrite. */
  readonly updatedAt: string;
}

/** A variant's attempt as its issue's verdict weighs it (see {@link BatchRecord.judgements}). */
export interface AttemptJudgement {
  /** Absent when no check ran. */
  readonly checkPassed?: boolean;
  readonly checkError?: { readonly message: string; readonly code: string };
  readonly score?: number;
  readonly changedLines?: number;
  /** In which order the issue's attempts ended (the last tie-break: earlier wins). */
  readonly endedAt: number;
}

/** A merge about to move `into` (see {@link BatchRecord.mergeIntents}). */
export interface MergeIntent {
  readonly issueNumber: number;
  readonly branch: string;
  /** The branch tip being merged. */
  readonly commit: string;
  /** The target branch. */
  readonly into: string;
  /**
   * The batch created the branch (it did not exist before its first run): a resume that finds it
   * merged deletes it. Sticky: a resumed task that checks the branch out again keeps it true.
   */
  readonly createdBranch?: boolean;
  /** ISO 8601. */
  readonly at: string;
}

const FOLDER = 'batches';
// What the pool names batches (`batch-<time>-<hex>`), and never a path: no `/`, `\`, nor a leading dot.
const BATCH_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** True when `id` can name a batch record (and so a file in the batches folder). */
export function isBatchId(id: unknown): id is string {
  return typeof id === 'string' && BATCH_ID.test(id);
}

/** The folder of batch records. */
export function batchesDir(stateDir: string): string {
  return join(stateDir, FOLDER);
}

/** One record, or undefined when there is none (or it is unreadable). */
export async function readBatchRecord(stateDir: string, id: string): Promise<BatchRecord | undefined> {
  if (!isBatchId(id)) return undefined;
  const text = await readFile(join(batchesDir(stateDir), `${id}.json`), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseBatchRecord(text);
}

/** Every readable record, least recently started first. */
export async function readBatchRecords(stateDir: string): Promise<BatchRecord[]> {
  const names = await readdir(batchesDir(stateDir)).catch(() => [] as string[]);
  const records = await Promise.all(
    names
      .filter((name) => name.endsWith('.json'))
      .map((name) => readBatchRecord(stateDir, name.slice(0, -'.json'.length))),
  );
  return records
    .filter((record): record is BatchRecord => record !== undefined)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
}

/** The records of batches still running, local or queue (not ended, their process alive), oldest first. */
export async function readRunningBatchRecords(stateDir: string): Promise<BatchRecord[]> {
  return (await readBatchRecords(stateDir)).filter(
    (record) => record.endedAt === undefined && isBatchOwnerAlive(record.owner),
  );
}

/**
 * Rewrites one record under the batches' cross-process lock: `change` gets the current record and
 * returns the new one (or undefined to leave it). Returns what is on disk afterwards.
 */
export async function updateBatchRecord(
  stateDir: string,
  id: string,
  change: (current: BatchRecord | undefined) => BatchRecord | undefined,
): Promise<BatchRecord | undefined> {
  const dir = batchesDir(stateDir);
  return withStateErrors(dir, stateDir, async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return lockOf(stateDir).run(async () => {
      const current = await readBatchRecord(stateDir, id);
      const next = change(current);
      if (next === undefined) return current;
      const stamped: BatchRecord = { ...next, updatedAt: new Date().toISOString() };
      const writeFileAtomic = await loadWriteFileAtomic();
      await writeFileAtomic(join(dir, `${id}.json`), `${serialise(stamped)}\n`, {
        fsync: false,
        mode: 0o600,
      });
      return stamped;
    });
  });
}

// One lock per state folder: the pool, `merge` and a later landing rewrite records in any process.
const locks = new Map<string, RepoLock>();
function lockOf(stateDir: string): RepoLock {
  let lock = locks.get(stateDir);
  if (!lock) {
    lock = new RepoLock(batchesDir(stateDir));
    locks.set(stateDir, lock);
  }
  return lock;
}

/** JSON of a record; a task `output` that is no JSON data (a cycle, a BigInt) is left out rather than lose the record. */
function serialise(record: BatchRecord): string {
  try {
    return JSON.stringify(record);
  } catch {
    const results = record.results.map((result) => {
      try {
        JSON.stringify(result.output);
        return result;
      } catch {
        const { output: _dropped, ...rest } = result;
        return rest as TaskResult;
      }
    });
    return JSON.stringify({ ...record, results });
  }
}

function parseBatchRecord(text: string): BatchRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<BatchRecord>;
    if (
      value.version !== 1 ||
      !isBatchId(value.id) ||
      typeof value.startedAt !== 'string' ||
      !Array.isArray(value.results) ||
      !Array.isArray(value.issues)
    ) {
      return undefined;
    }
    return { ...value, overlaps: Array.isArray(value.overlaps) ? value.overlaps : [] } as BatchRecord;
  } catch {
    return undefined;
  }
}
