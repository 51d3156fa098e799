import {
  type BatchRecord,
  createGitHubClient,
  MiyabiError,
  type PoolPullRequestOptions,
  type WorktreeManager,
  type WorktreeTask,
} from '../../index.js';
import { findResumableBatch, formatArgv, unfinishedIssues } from '../../internal.js';
import type { RunBatchRequest } from './run-batch.js';

/** What `run --resume` runs: the batch's id, its plan as a request, and the line that says so. */
export interface ResumedBatch {
  readonly batchId: string;
  readonly request: RunBatchRequest;
  readonly notice: string;
  /** The issues the resume runs, sends or collects: those without a kept result. */
  readonly pending: readonly number[];
}

/**
 * The request of the batch `run --resume` continues: its issues, command and options from its
 * record; the command after `--`, when given, must be the recorded one (or `--resume-command` says
 * what the resumed tasks run instead).
 *
 * @throws MiyabiError `INVALID_ARGUMENT` (exit 2) when the batch cannot be resumed or the command differs.
 */
export async function resumedBatch(
  manager: WorktreeManager,
  request: RunBatchRequest,
  batchId: string | undefined,
): Promise<ResumedBatch> {
  const record = await findResumableBatch(manager, batchId);
  const recorded = record.command;
  const given = request.command;
  if (given.length === 0 && !recorded) {
    throw new MiyabiError('INVALID_ARGUMENT', `batch ${record.id} recorded no command: give it after --`, {
      hint: `e.g. miyabi-worktree run --resume ${record.id} -- <command>`,
    });
  }
  const differs = recorded !== undefined && given.length > 0 && formatArgv(given) !== formatArgv(recorded);
  if (differs && request.resumeCommand === undefined) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `the command after -- is not batch ${record.id}'s (${formatArgv(recorded ?? [])})`,
      {
        hint: 'Give the same command, or none; --resume-command sets what the resumed tasks run instead.',
      },
    );
  }
  const pullRequest = await resumedPullRequests(record);
  const options = record.options;
  const queue = resumedQueue(record, request.resume?.queue);
  const base = record.base.branch;
  const planned: readonly WorktreeTask[] =
    record.tasks ?? record.issues.map((issueNumber) => ({ issueNumber }));
  const tasks = planned.map((task) => (task.baseBranch === undefined ? { ...task, baseBranch: base } : task));
  // A variant's attempt is not a task: its issue's one result is.
  const finished = record.results.filter((r) => r.status !== 'cancelled' && r.variant === undefined).length;
  return {
    batchId: record.id,
    pending: unfinishedIssues(record),
    request: {
      ...request,
      issues: record.issues,
      tasks,
      command: recorded ?? given,
      concurrency: options.maxConcurrency,
      timeoutMs: options.timeoutMs,
      failFast: options.failFast,
      keep: !options.autoCleanup,
      merge: options.merge,
      push: options.push,
      onConflict: options.onConflict === 'resolve' ? 'agent' : options.onConflict,
      ...(options.reuse ? { reuse: {} } : {}),
      ...(pullRequest ? { pullRequest } : {}),
      // Its landings pass the same check as before the interruption.
      ...(options.check
        ? {
            check: options.check.command,
            checkTimeoutMs: options.check.timeoutMs,
            checkBatch: options.check.batch,
            onCheckFail: options.onCheckFail,
            allowRedBase: options.allowRedBase,
          }
        : {}),
      queue,
    },
    notice: `Resuming batch ${record.id} (started ${record.startedAt}): ${finished} of ${record.issues.length} tasks keep their results; ${
      queue
        ? `the others' jobs on queue ${queue.name} are collected when they finished or awaited when they run, else they run again with MIYABI_RESUMED=1`
        : 'the others run again with MIYABI_RESUMED=1'
    }`,
  };
}

/**
 * Where a queue batch's tasks go again: its recorded queue, at the `--queue` URL when given (the
 * record keeps none with a password); undefined for a local batch, which `--queue` cannot resume.
 */
function resumedQueue(
  record: BatchRecord,
  given: { readonly url?: string; readonly secret?: string } | undefined,
): RunBatchRequest['queue'] {
  const name = record.options.queue;
  if (name === undefined) {
    if (given?.url !== undefined) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `batch ${record.id} ran here, not on a queue: --queue cannot resume it`,
        {
          hint: `Drop --queue: miyabi-worktree run --resume ${record.id}`,
        },
      );
    }
    return undefined;
  }
  if ((record.options.variants?.length ?? 1) > 1) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `batch ${record.id} ran variants on a queue: it cannot be resumed yet`,
      {
        hint: 'Run its unfinished issues again: miyabi-worktree run --queue <url> --variants <n> --issues <n,…> -- <command>',
      },
    );
  }
  const url = given?.url ?? record.options.queueAt?.connection;
  if (url === undefined || url === '') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `batch ${record.id} ran on queue ${name}: give its Redis URL with --queue`,
      {
        hint: `e.g. miyabi-worktree run --resume ${record.id} --queue redis://host:6379`,
      },
    );
  }
  return {
    url,
    name,
    remote: record.options.queueAt?.remote ?? 'origin',
    ...(record.options.queueAt?.queueTimeoutMs !== undefined
      ? { timeoutMs: record.options.queueAt.queueTimeoutMs }
      : {}),
    ...(record.options.queueAt?.shareArchives ? { shareArchives: true } : {}),
    ...(given?.secret !== undefined ? { secret: given.secret } : {}),
  };
}

/**
 * The pull requests of a `--pr` batch, opened where it opened them, with a client made now (the
 * token is looked up again, never recorded): a task whose pull request exists gets it updated.
 *
 * @throws MiyabiError `INVALID_ARGUMENT` for a record too old to say where; `GITHUB_AUTH` without a token.
 */
async function resumedPullRequests(record: BatchRecord): Promise<PoolPullRequestOptions | undefined> {
  if (!record.options.pullRequest) return undefined;
  const to = record.options.pullRequestTo;
  if (!to) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `batch ${record.id} opened pull requests (--pr) but its record does not say where: it cannot be resumed`,
      { hint: 'Run its unfinished issues again with miyabi-worktree run --pr.' },
    );
  }
  const client = await createGitHubClient(to.baseUrl !== undefined ? { baseUrl: to.baseUrl } : {});
  return {
    repo: to.repo,
    client,
    ...(to.draft !== undefined ? { draft: to.draft } : {}),
    ...(to.reviewers ? { reviewers: to.reviewers } : {}),
    ...(to.labels ? { labels: to.labels } : {}),
  };
}
