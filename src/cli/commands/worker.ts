import { resolve } from 'node:path';
import { isMiyabiError, MiyabiError, OPTION_RANGES, startWorker, type WorkerActivity } from '../../index.js';
import { formatArgv, isLocalPath } from '../../internal.js';
import { BIN } from '../bin-name.js';
import { writeLine } from '../io.js';
import { parseConcurrency } from '../parse-concurrency.js';
import { parseDurationFlag } from '../parse-duration-flag.js';
import { QUEUE_SECRET_ENV, readQueueSecret } from '../read-queue-secret.js';
import type { CommandHandler } from './index.js';

/**
 * `worker --queue <url> [--concurrency N] [--repo PATH] [--name N] [--allow CMD]... [--queue-name Q]
 * [--lock-duration D] [--stalled-interval D] [--orphan-timeout D] [--secret-file F] [--json]`: takes jobs until Ctrl-C / SIGTERM, which
 * cancels the running ones (their process groups killed, their work archived) and exits.
 */
const worker: CommandHandler = async ({ options }, ctx) => {
  if (typeof options.queue !== 'string') {
    throw new MiyabiError('INVALID_ARGUMENT', 'worker needs --queue <redis url>', {
      hint: 'e.g. miyabi-worktree worker --queue redis://127.0.0.1:6379',
    });
  }
  const concurrency = typeof options.concurrency === 'string' ? parseConcurrency(options.concurrency) : 1;
  const repo = resolve(ctx.globals.cwd, typeof options.repo === 'string' ? options.repo : 'miyabi-worker');
  const json = options.json === true;
  const secret = readQueueSecret(options.secretFile, ctx.globals.cwd);
  const { stderr, stdout } = ctx.io;
  const report = (activity: WorkerActivity) => {
    if (json) {
      stdout.write(`${JSON.stringify(activity)}\n`);
      return;
    }
    writeLine(
      stderr,
      activity.kind === 'start'
        ? `#${activity.issueNumber} started: ${formatArgv(activity.argv)}`
        : activity.kind === 'refused'
          ? `job ${activity.jobId} refused (${activity.code}): ${activity.message}${activity.outcome === 'delayed' ? ' — left to the other workers' : ' — failed'}`
          : `#${activity.issueNumber} ${activity.status}${activity.code ? ` (${activity.code})` : ''}`,
    );
  };
  const started = await startWorker({
    connection: options.queue,
    repo,
    ...(typeof options.remote === 'string'
      ? { remote: resolveRemoteFlag(options.remote, ctx.globals.cwd) }
      : {}),
    concurrency,
    ...(typeof options.name === 'string' ? { name: options.name } : {}),
    ...(Array.isArray(options.allow) ? { allow: options.allow as string[] } : {}),
    ...(typeof options.queueName === 'string' ? { queueName: options.queueName } : {}),
    ...(secret !== undefined ? { secret } : {}),
    ...(typeof options.lockDuration === 'string'
      ? { lockDurationMs: parseDurationFlag(options.lockDuration, '--lock-duration') }
      : {}),
    ...(typeof options.stalledInterval === 'string'
      ? { stalledIntervalMs: parseDurationFlag(options.stalledInterval, '--stalled-interval') }
      : {}),
    ...(typeof options.orphanTimeout === 'string'
      ? { orphanTimeoutMs: parseOrphanTimeout(options.orphanTimeout) }
      : {}),
    logger: ctx.logger,
    onJob: report,
  }).catch((error: unknown) => {
    throw withCliHint(error);
  });
  for (const left of started.reclaimed) {
    if (json) stdout.write(`${JSON.stringify({ kind: 'reclaimed', ...left })}\n`);
    else
      writeLine(
        stderr,
        `reclaimed ${left.id} (${left.branchName}) a stopped worker left${left.stoppedProcesses.length ? `: stopped ${left.stoppedProcesses.join(' ')}` : ''}${left.archiveRef ? `; its work is under ${left.archiveRef}: ${BIN} restore ${left.id.split('/').pop()} (in ${repo})` : ''}`,
      );
  }
  if (json)
    stdout.write(
      `${JSON.stringify({ kind: 'ready', worker: started.name, queue: started.queue, remote: started.remote, repo })}\n`,
    );
  if (secret === undefined) {
    writeLine(
      stderr,
      `warning: no shared secret (--secret-file or ${QUEUE_SECRET_ENV}): this worker runs any job anyone who can write to this Redis sends`,
    );
  }
  writeLine(
    stderr,
    `worker ${started.name} waiting for jobs (${concurrency} at a time) of queue ${started.queue} (${started.remote}) in ${repo}; Ctrl-C stops it`,
  );
  await new Promise<void>((done) => {
    if (ctx.signal.aborted) done();
    ctx.signal.addEventListener('abort', () => done(), { once: true });
  });
  await started.close({ cancelRunning: true });
  writeLine(stderr, `worker ${started.name} stopped`);
  return 0;
};

export default worker;

/** `--orphan-timeout`: a duration within the range of `orphanTimeoutMs`, said with the flag's name. */
function parseOrphanTimeout(text: string): number {
  const range = OPTION_RANGES.orphanTimeoutMs;
  const ms = parseDurationFlag(text, '--orphan-timeout', { maxMs: range.max });
  if (ms < range.min) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `--orphan-timeout must be at least ${range.min / 1000}s, got ${text}`,
      { hint: "The submitter's heartbeat beats every second: give it 5s or more (default 10m)." },
    );
  }
  return ms;
}

/** A local path given to `--remote` is taken from where the command runs. */
function resolveRemoteFlag(remote: string, cwd: string): string {
  return isLocalPath(remote) ? resolve(cwd, remote) : remote;
}

/** The library's hints about `remote` in the CLI's words. */
function withCliHint(error: unknown): unknown {
  if (isMiyabiError(error, 'INVALID_ARGUMENT') && error.details?.option === 'remote') {
    return new MiyabiError('INVALID_ARGUMENT', error.message, {
      hint: `Pass --remote <url of the shared remote>: e.g. ${BIN} worker --queue redis://127.0.0.1:6379 --remote git@host:org/repo.git`,
    });
  }
  return error;
}
