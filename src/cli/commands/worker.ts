import { resolve } from 'node:path';
import { MiyabiError, startWorker, type WorkerActivity } from '../../index.js';
import { formatArgv } from '../../internal.js';
import { writeLine } from '../io.js';
import { parseConcurrency } from '../parse-concurrency.js';
import { parseDurationFlag } from '../parse-duration-flag.js';
import { QUEUE_SECRET_ENV, readQueueSecret } from '../read-queue-secret.js';
import type { CommandHandler } from './index.js';

/**
 * `worker --queue <url> [--concurrency N] [--repo PATH] [--name N] [--allow CMD]... [--queue-name Q]
 * [--lock-duration D] [--stalled-interval D] [--secret-file F] [--json]`: takes jobs until Ctrl-C / SIGTERM, which
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
          ? `job ${activity.jobId} refused (${activity.code}): ${activity.message}`
          : `#${activity.issueNumber} ${activity.status}${activity.code ? ` (${activity.code})` : ''}`,
    );
  };
  const started = await startWorker({
    connection: options.queue,
    repo,
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
    logger: ctx.logger,
    onJob: report,
  });
  if (secret === undefined) {
    writeLine(
      stderr,
      `warning: no shared secret (--secret-file or ${QUEUE_SECRET_ENV}): this worker runs any job anyone who can write to this Redis sends`,
    );
  }
  writeLine(
    stderr,
    `worker ${started.name} waiting for jobs (${concurrency} at a time) in ${repo}; Ctrl-C stops it`,
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
