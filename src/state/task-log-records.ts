import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { TaskStatus as ExecutionOutcome, TaskStage } from '../core/task.js';
import type { Owner } from '../core/types.js';
import { loadWriteFileAtomic } from './lazy-modules.js';
import { currentOwner } from './owner.js';

/** Where a pool task's log is, and whether the task is still running. Plain JSON data. */
export interface TaskLog {
  /** The worktree the task ran in (its id stays known after the worktree is removed). */
  readonly worktreeId: string;
  readonly issueNumber: number;
  readonly branch: string;
  readonly batchId: string;
  /** Absolute path of the task's log file (setup output, then the command's). */
  readonly logFile: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** ISO 8601; absent while the task runs (or when its process died: see `owner`). */
  readonly endedAt?: string;
  /** How the task ended, once it did. */
  readonly status?: ExecutionOutcome;
  /** Where an unsuccessful task ended (its `TaskResult.stage`). */
  readonly stage?: TaskStage;
  /** Its error code, e.g. `MERGE_CONFLICT`. */
  readonly code?: string;
  /** The process running the batch: a task whose process is gone has ended too. */
  readonly owner: Owner;
}

// One small file per task: writers never contend, and no lock is needed.
const FOLDER = 'task-logs';
const ID = /^[A-Za-z0-9._-]+$/;

/** Records that a task started, with its log file: what `logs` and `followLog` find it by. */
export async function recordTaskStart(
  stateDir: string,
  task: Omit<TaskLog, 'startedAt' | 'owner' | 'endedAt' | 'status' | 'stage' | 'code'>,
): Promise<TaskLog> {
  const record: TaskLog = { ...task, startedAt: new Date().toISOString(), owner: currentOwner() };
  await write(stateDir, record);
  return record;
}

/** How a task ended, as its record keeps it. */
export type TaskEnd = Pick<TaskLog, 'status' | 'stage' | 'code'> & { readonly status: ExecutionOutcome };

/** Records how a started task ended. */
export async function recordTaskEnd(stateDir: string, record: TaskLog, end: TaskEnd): Promise<void> {
  await write(stateDir, { ...record, endedAt: new Date().toISOString(), ...definedOnly(end) });
}

function definedOnly(end: TaskEnd): TaskEnd {
  return Object.fromEntries(Object.entries(end).filter(([, value]) => value !== undefined)) as TaskEnd;
}

/** The record of one worktree id, or undefined. */
export async function readTaskLog(stateDir: string, worktreeId: string): Promise<TaskLog | undefined> {
  if (!ID.test(worktreeId)) return undefined;
  const text = await readFile(join(stateDir, FOLDER, `${worktreeId}.json`), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parse(text);
}

/** Every task log record, oldest start first; unreadable ones are skipped. */
export async function readTaskLogs(stateDir: string): Promise<TaskLog[]> {
  const dir = join(stateDir, FOLDER);
  const names = await readdir(dir).catch(() => [] as string[]);
  const records = await Promise.all(
    names
      .filter((name) => name.endsWith('.json'))
      .map((name) => readTaskLog(stateDir, name.slice(0, -'.json'.length))),
  );
  return records
    .filter((record): record is TaskLog => record !== undefined)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.worktreeId.localeCompare(b.worktreeId));
}

/** Forgets the tasks whose logs lay in `folders` (batch log folders just deleted). Best effort. */
export async function forgetTaskLogs(stateDir: string, folders: readonly string[]): Promise<void> {
  if (folders.length === 0) return;
  const inside = (file: string) =>
    folders.some((folder) => {
      const rel = relative(folder, file);
      return rel !== '' && !rel.startsWith('..');
    });
  const doomed = (await readTaskLogs(stateDir)).filter((record) => inside(record.logFile));
  await Promise.all(
    doomed.map((record) =>
      rm(join(stateDir, FOLDER, `${record.worktreeId}.json`), { force: true }).catch(() => {}),
    ),
  );
}

async function write(stateDir: string, record: TaskLog): Promise<void> {
  const dir = join(stateDir, FOLDER);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const writeFileAtomic = await loadWriteFileAtomic();
  await writeFileAtomic(join(dir, `${record.worktreeId}.json`), `${JSON.stringify(record)}\n`, {
    fsync: false,
    mode: 0o600,
  });
}

function parse(text: string): TaskLog | undefined {
  try {
    const value = JSON.parse(text) as Partial<TaskLog>;
    if (
      typeof value.worktreeId !== 'string' ||
      typeof value.logFile !== 'string' ||
      typeof value.issueNumber !== 'number' ||
      typeof value.startedAt !== 'string' ||
      typeof value.owner?.pid !== 'number'
    ) {
      return undefined;
    }
    return value as TaskLog;
  } catch {
    return undefined;
  }
}
