import { resolve } from 'node:path';
import { MAX_IDLE, MiyabiError, type PoolPullRequestOptions, type WorktreeTask } from '../../index.js';
import { checkHtmlReportPath } from '../html-report-path.js';
import { writeLine } from '../io.js';
import { parseConcurrency } from '../parse-concurrency.js';
import { parseDurationFlag } from '../parse-duration-flag.js';
import { parseIssueList } from '../parse-issues.js';
import { parseSizeFlag } from '../parse-size-flag.js';
import { readQueueSecret } from '../read-queue-secret.js';
import { parseCheckFlags } from '../run/check-flags.js';
import { connectGitHub, type GitHubFlags, selectIssues, wantsGitHub } from '../run/github-source.js';
import { planBatch, type RunBatchRequest, runBatch } from '../run/run-batch.js';
import { parseVariantFlags } from '../run/variant-flags.js';
import type { CommandHandler } from './index.js';

/**
 * `run (--issues <list> | --github [owner/repo] [--label L] [--milestone M] [--query Q]) [--dry-run]
 * [--concurrency N] [--timeout D] [--fail-fast] [--keep] [--merge [--into B]] [--push [--remote R]]
 * [--pr [--draft] [--reviewer R]] [--github-api-url URL] [--base B] [--log-dir DIR] [--html FILE] [--json] -- <command> [args...]`
 */
const run: CommandHandler = async ({ operands, options }, ctx) => {
  const command = (operands[0] as string[] | undefined) ?? [];
  // `--resume [batch-id]`: the batch's own plan; its command after -- is optional.
  if (options.resume !== undefined) return resumeRun(command, options, ctx);
  if (command.length === 0 || command[0] === '') {
    throw new MiyabiError('INVALID_ARGUMENT', 'run needs a command after --', {
      hint: 'e.g. miyabi-worktree run --issues 1,2 -- npm test',
    });
  }
  const github: GitHubFlags = {
    github: options.github as string | boolean | undefined,
    label: options.label as string[] | undefined,
    milestone: typeof options.milestone === 'string' ? options.milestone : undefined,
    query: typeof options.query === 'string' ? options.query : undefined,
    githubApiUrl: typeof options.githubApiUrl === 'string' ? options.githubApiUrl : undefined,
  };
  const pr = options.pr === true;
  const fromGitHub = wantsGitHub(github) || pr;
  const issues = typeof options.issues === 'string' ? parseIssueList(options.issues) : undefined;
  if (!issues && !fromGitHub) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      'run needs --issues, or GitHub input (--github, --label, --milestone, --query)',
      {
        hint: 'e.g. miyabi-worktree run --issues 1,2 -- npm test',
      },
    );
  }
  const concurrency =
    typeof options.concurrency === 'string' ? parseConcurrency(options.concurrency) : undefined;
  const timeoutMs =
    typeof options.timeout === 'string' ? parseDurationFlag(options.timeout, '--timeout') : undefined;
  const maxMemory =
    typeof options.maxMemory === 'string' ? parseSizeFlag(options.maxMemory, 'maxMemory') : undefined;
  const minFreeMemory =
    typeof options.minFreeMemory === 'string'
      ? parseSizeFlag(options.minFreeMemory, 'minFreeMemory')
      : undefined;
  if (options.into !== undefined && options.merge !== true) {
    throw new MiyabiError('INVALID_ARGUMENT', '--into only applies with --merge', {
      hint: 'Add --merge, or drop --into.',
    });
  }
  const reuse = options.reuse === true;
  for (const flag of ['keepPath', 'warm', 'maxIdle'] as const) {
    if (options[flag] !== undefined && !reuse) {
      const name = `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new MiyabiError('INVALID_ARGUMENT', `${name} only applies with --reuse`, {
        hint: `Add --reuse, or drop ${name}.`,
      });
    }
  }
  if (options.warm !== undefined && typeof options.queue === 'string') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      '--warm: with queue, idle worktrees would be made here, where no task runs; workers make their own',
      { hint: 'Drop --warm, or run without --queue.' },
    );
  }
  if (reuse && options.keep === true) {
    throw new MiyabiError('INVALID_ARGUMENT', '--reuse and --keep exclude each other', {
      hint: '--reuse hands each worktree back idle for the next task; --keep leaves it as the task left it.',
    });
  }
  const onConflict = typeof options.onConflict === 'string' ? options.onConflict : undefined;
  if (onConflict !== undefined && !['keep', 'agent', 'remove'].includes(onConflict)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `--on-conflict: "${onConflict}" is not one of keep, agent, remove`,
      {
        hint: 'keep (the default) leaves a conflicted worktree for you; agent hands the conflict back to the command.',
      },
    );
  }
  const checkFlags = parseCheckFlags(options);
  const variantFlags = parseVariantFlags(options);
  if ((onConflict !== undefined || options.resolveAttempts !== undefined) && options.merge !== true) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      '--on-conflict and --resolve-attempts only apply with --merge',
      {
        hint: 'Add --merge, or drop them.',
      },
    );
  }
  const onOverlap = typeof options.onOverlap === 'string' ? options.onOverlap : undefined;
  if (onOverlap !== undefined && onOverlap !== 'warn' && onOverlap !== 'stop-later') {
    throw new MiyabiError('INVALID_ARGUMENT', `--on-overlap: "${onOverlap}" is not one of warn, stop-later`, {
      hint: 'warn (the default) reports two tasks that would conflict; stop-later also cancels the one that started later.',
    });
  }
  const radarIntervalMs = parseRadarInterval(options.radarInterval);
  const pause = parsePauseFlags(options);
  if (onOverlap === 'stop-later' && radarIntervalMs === 0) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      '--on-overlap stop-later needs the radar, but --radar-interval is 0',
      {
        hint: 'Drop --radar-interval 0, or --on-overlap.',
      },
    );
  }
  const resolveAttempts =
    typeof options.resolveAttempts === 'string'
      ? parseConcurrency(options.resolveAttempts, '--resolve-attempts')
      : undefined;
  if (pr && options.merge === true) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      '--pr cannot be combined with --merge: the pull request is the merge',
      {
        hint: 'Drop --merge to open pull requests, or drop --pr to merge locally.',
      },
    );
  }
  for (const flag of ['draft', 'reviewer'] as const) {
    if (options[flag] !== undefined && !pr) {
      throw new MiyabiError('INVALID_ARGUMENT', `--${flag} only applies with --pr`, { hint: 'Add --pr.' });
    }
  }

  // Queue flags (and the secret file) are checked before GitHub is asked or anything is enqueued.
  const queue = parseQueueFlags(options, ctx.globals.cwd);
  // Where the page goes is checked now: a typo must not cost a whole batch.
  const htmlFile =
    typeof options.html === 'string' ? await checkHtmlReportPath(options.html, '--html') : undefined;

  // GitHub first: a missing token or repository fails here, before any worktree exists.
  let tasks: WorktreeTask[] | undefined;
  let skipped: Awaited<ReturnType<typeof selectIssues>>['skipped'] | undefined;
  let pullRequest: PoolPullRequestOptions | undefined;
  if (fromGitHub) {
    const connection = await connectGitHub(github, ctx);
    ({ tasks, skipped } = await selectIssues(github, issues, connection, ctx));
    if (pr) {
      pullRequest = {
        repo: connection.repo,
        client: connection.client,
        ...(options.draft === true ? { draft: true } : {}),
        ...(Array.isArray(options.reviewer) ? { reviewers: options.reviewer as string[] } : {}),
      };
    }
  }
  if (tasks && tasks.length === 0) {
    writeLine(ctx.io.stderr, 'No issue to run: the GitHub selection is empty.');
  }
  const request: RunBatchRequest = {
    issues: tasks ? tasks.map((task) => task.issueNumber) : (issues ?? []),
    ...(tasks ? { tasks } : {}),
    ...(skipped ? { skipped } : {}),
    ...(pullRequest ? { pullRequest } : {}),
    command,
    concurrency,
    timeoutMs,
    maxMemory,
    minFreeMemory,
    baseBranch: typeof options.base === 'string' ? options.base : undefined,
    failFast: options.failFast === true,
    keep: options.keep === true,
    noSetup: options.setup === false,
    merge:
      options.merge === true
        ? { into: typeof options.into === 'string' ? options.into : undefined }
        : undefined,
    // --pr pushes first: the pull request is opened from the pushed branch.
    push: options.push === true || pr ? { remote: String(options.remote ?? 'origin') } : undefined,
    onConflict: onConflict as 'keep' | 'agent' | 'remove' | undefined,
    ...checkFlags,
    ...variantFlags,
    onOverlap,
    radarIntervalMs,
    ...pause,
    continueBranches: options.continueBranches === true,
    resolveAttempts,
    logDir: typeof options.logDir === 'string' ? resolve(options.logDir) : undefined,
    json: options.json === true,
    ...(queue ? { queue: { ...queue, remote: String(options.remote ?? 'origin') } } : {}),
    ...(htmlFile !== undefined ? { htmlFile } : {}),
    ...(reuse
      ? {
          reuse: {
            ...(Array.isArray(options.keepPath) ? { keepPaths: options.keepPath as string[] } : {}),
            ...(typeof options.warm === 'string' ? { warm: parseCount(options.warm, '--warm', 1) } : {}),
            ...(typeof options.maxIdle === 'string'
              ? { maxIdle: parseCount(options.maxIdle, '--max-idle', 0) }
              : {}),
          },
        }
      : {}),
  };
  // A dry run makes every check the run makes, then prints each task's plan instead of starting it.
  if (options.dryRun === true) return (await planBatch(request, ctx)).exitCode;
  return (await runBatch(request, ctx)).exitCode;
};

/** `run --resume [batch-id]`: only the flags that do not change the batch's plan go with it. */
async function resumeRun(
  command: string[],
  options: Readonly<Record<string, unknown>>,
  ctx: Parameters<CommandHandler>[1],
): Promise<number> {
  const planFlags = [
    'issues',
    'github',
    'label',
    'milestone',
    'query',
    'dryRun',
    'concurrency',
    'timeout',
    'failFast',
    'keep',
    'reuse',
    'merge',
    'into',
    'push',
    'pr',
    'base',
    'queueName',
    'queueTimeout',
    'shareArchives',
    'continueBranches',
    'onConflict',
  ] as const;
  for (const flag of planFlags) {
    if (options[flag] === undefined || options[flag] === false) continue;
    const name = `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${name} cannot go with --resume: the batch keeps the plan it started with`,
      {
        hint: `Drop ${name}; run --resume runs the batch's unfinished tasks as it was asked to.`,
      },
    );
  }
  const htmlFile =
    typeof options.html === 'string' ? await checkHtmlReportPath(options.html, '--html') : undefined;
  const request: RunBatchRequest = {
    issues: [],
    command,
    failFast: false,
    keep: false,
    json: options.json === true,
    ...parsePauseFlags(options),
    ...(htmlFile !== undefined ? { htmlFile } : {}),
    logDir: typeof options.logDir === 'string' ? resolve(options.logDir) : undefined,
    resume: {
      ...(typeof options.resume === 'string' ? { batchId: options.resume } : {}),
      ...resumeQueueFlags(options, ctx.globals.cwd),
    },
  };
  return (await runBatch(request, ctx)).exitCode;
}

/**
 * `run --resume --queue URL [--secret-file F]`: the Redis URL of a queue batch (its record keeps it
 * without the password) and the workers' secret; both optional.
 */
function resumeQueueFlags(
  options: Readonly<Record<string, unknown>>,
  cwd: string,
): { queue?: { url?: string; secret?: string } } {
  const secret = readQueueSecret(options.secretFile, cwd);
  const url = typeof options.queue === 'string' ? options.queue : undefined;
  if (url === undefined && secret === undefined) return {};
  return { queue: { ...(url !== undefined ? { url } : {}), ...(secret !== undefined ? { secret } : {}) } };
}

/** `--radar-interval`: a duration, or 0 (the radar off); undefined leaves the default. */
function parseRadarInterval(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (/^\s*0+\s*$/.test(value)) return 0;
  return parseDurationFlag(value, '--radar-interval');
}

/** `--pause-on`, `--pause-max`, `--resume-command` (the pool checks the patterns, naming the flag); with `--queue` too. */
function parsePauseFlags(options: Readonly<Record<string, unknown>>): {
  pauseOn?: string[];
  pauseMaxMs?: number;
  resumeCommand?: string[];
} {
  const resumeCommand =
    typeof options.resumeCommand === 'string' ? options.resumeCommand.trim().split(/\s+/) : undefined;
  if (resumeCommand && resumeCommand[0] === '') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      '--resume-command needs a command, e.g. --resume-command "claude -c -p continue"',
    );
  }
  return {
    ...(Array.isArray(options.pauseOn) ? { pauseOn: options.pauseOn as string[] } : {}),
    ...(typeof options.pauseMax === 'string'
      ? {
          pauseMaxMs: /^\s*0+\s*$/.test(options.pauseMax)
            ? 0
            : parseDurationFlag(options.pauseMax, '--pause-max'),
        }
      : {}),
    ...(resumeCommand ? { resumeCommand } : {}),
  };
}

/** `--queue`, `--queue-name`, `--queue-timeout`, `--secret-file`: the others only with the first. */
function parseQueueFlags(
  options: Readonly<Record<string, unknown>>,
  cwd: string,
): { url: string; name?: string; timeoutMs?: number; secret?: string; shareArchives?: boolean } | undefined {
  if (typeof options.queue !== 'string') {
    for (const flag of ['queueName', 'queueTimeout', 'secretFile', 'shareArchives'] as const) {
      if (options[flag] !== undefined) {
        const name = `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
        throw new MiyabiError('INVALID_ARGUMENT', `${name} only applies with --queue`, {
          hint: 'Add --queue redis://host:port, or drop it.',
        });
      }
    }
    return undefined;
  }
  const secret = readQueueSecret(options.secretFile, cwd);
  return {
    url: options.queue,
    ...(secret !== undefined ? { secret } : {}),
    ...(options.shareArchives === true ? { shareArchives: true } : {}),
    ...(typeof options.queueName === 'string' ? { name: options.queueName } : {}),
    ...(typeof options.queueTimeout === 'string'
      ? { timeoutMs: parseDurationFlag(options.queueTimeout, '--queue-timeout') }
      : {}),
  };
}

/** A whole number from `min` to `MAX_IDLE` (the most idle worktrees anything keeps) given to `flag`. */
function parseCount(text: string, flag: string, min: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > MAX_IDLE) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${flag} must be a whole number from ${min} to ${MAX_IDLE}, got "${text}"`,
    );
  }
  return value;
}

export default run;
