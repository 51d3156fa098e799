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
  const reuse = options.reuse === true;
  for (const flag of ['keepPath', 'warm', 'maxIdle'] as const) {
    if (options[flag] !== undefined && !reuse) {
      const name = `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new MiyabiError('INVALID_ARGUMENT', `${name} only applies with --reuse`, {
        hint: `Add --reuse, or drop ${name}.`,
      });
    }
  }
  if (reuse && options.keep === true) {
    throw new MiyabiError('INVALID_ARGUMENT', '--reuse and --keep exclude each other', {
      hint: '--reuse hands each worktree back idle for the next task; --keep leaves it as the task left it.',
    });
  }
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
      logDir: typeof options.logDir === 'string' ? resolve(options.logDir) : undefined,
      json: options.json === true,
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
    },
    ctx,
  );
  return outcome.exitCode;
};

/** A whole number of at least `min` given to `flag`. */
function parseCount(text: string, flag: string, min: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > 256) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${flag} must be a whole number from ${min} to 256, got "${text}"`,
    );
  }
  return value;
}

export default run;
