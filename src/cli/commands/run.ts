import { resolve } from 'node:path';
import { MiyabiError, parseDuration } from '../../index.js';
import { parseConcurrency } from '../parse-concurrency.js';
import { parseIssueList } from '../parse-issues.js';
import { runBatch } from '../run/run-batch.js';
import type { CommandHandler } from './index.js';

/**
 * `run --issues <list> [--concurrency N] [--timeout D] [--fail-fast] [--keep] [--merge [--into B]]
 * [--push [--remote R]] [--base B] [--log-dir DIR] [--json] -- <command> [args...]`
 */
const run: CommandHandler = async ({ operands, options }, ctx) => {
  const command = operands[0] as string[];
  if (command.length === 0 || command[0] === '') {
    throw new MiyabiError('INVALID_ARGUMENT', 'run needs a command after --', {
      hint: 'e.g. miyabi-worktree run --issues 1,2 -- npm test',
    });
  }
  const issues = parseIssueList(String(options.issues));
  const concurrency =
    typeof options.concurrency === 'string' ? parseConcurrency(options.concurrency) : undefined;
  const timeoutMs =
    typeof options.timeout === 'string' ? parseDuration(options.timeout, '--timeout') : undefined;
  if (options.into !== undefined && options.merge !== true) {
    throw new MiyabiError('INVALID_ARGUMENT', '--into only applies with --merge', {
      hint: 'Add --merge, or drop --into.',
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
  if ((onConflict !== undefined || options.resolveAttempts !== undefined) && options.merge !== true) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      '--on-conflict and --resolve-attempts only apply with --merge',
      {
        hint: 'Add --merge, or drop them.',
      },
    );
  }
  const resolveAttempts =
    typeof options.resolveAttempts === 'string'
      ? parseConcurrency(options.resolveAttempts, '--resolve-attempts')
      : undefined;
  const outcome = await runBatch(
    {
      issues,
      command,
      concurrency,
      timeoutMs,
      baseBranch: typeof options.base === 'string' ? options.base : undefined,
      failFast: options.failFast === true,
      keep: options.keep === true,
      merge:
        options.merge === true
          ? { into: typeof options.into === 'string' ? options.into : undefined }
          : undefined,
      push: options.push === true ? { remote: String(options.remote ?? 'origin') } : undefined,
      onConflict: onConflict as 'keep' | 'agent' | 'remove' | undefined,
      continueBranches: options.continueBranches === true,
      resolveAttempts,
      logDir: typeof options.logDir === 'string' ? resolve(options.logDir) : undefined,
      json: options.json === true,
    },
    ctx,
  );
  return outcome.exitCode;
};

export default run;
