import { afterAll, afterEach, beforeAll } from 'vitest';
import type { CliProcess } from './cli-process.js';
import { startRedis, type TestRedis } from './redis-server.js';

/**
 * What a describe block of queue tests shares: a `redis-server` of its own (started before its
 * tests, disposed after them) and the CLI processes its tests start (workers, submitters), each
 * stopped with SIGTERM and awaited after every test, so a failed test leaves no worker behind to
 * take the next test's jobs. Call it at the top of the block; `redis` is usable inside its tests.
 * A block's own `afterEach` registered after this call runs first (vitest runs after-hooks as a stack).
 */
export function queueTestBed(binary: string | undefined): {
  readonly redis: TestRedis;
  readonly processes: CliProcess[];
} {
  let started: TestRedis | undefined;
  const processes: CliProcess[] = [];
  beforeAll(async () => {
    if (binary) started = await startRedis(binary);
  });
  afterEach(async () => {
    await Promise.all(
      processes.splice(0).map((proc) => {
        if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
        return proc.done;
      }),
    );
  });
  afterAll(async () => {
    await started?.dispose();
  });
  const redis: TestRedis = {
    get port() {
      return running().port;
    },
    get url() {
      return running().url;
    },
    get dir() {
      return running().dir;
    },
    stop: () => running().stop(),
    start: () => running().start(),
    dispose: () => running().dispose(),
  };
  function running(): TestRedis {
    if (!started)
      throw new Error('queueTestBed: redis is started before the tests, not while the block is collected');
    return started;
  }
  return { redis, processes };
}
