import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandExecutor, type QueueWorker, startWorker, WorktreePool } from '../src/index.js';
import { requireBinary } from './helpers/external-binary.js';
import { startRedis, type TestRedis } from './helpers/redis-server.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const redisServer = requireBinary('redis-server', 'the bounded queue test');

// Issue 1 allocates 600 MB in 20 MB steps and holds it; issue 2 reports its tokens and cost.
const TASK = `
if (process.env.MIYABI_ISSUE_NUMBER === '1') {
  const held = [];
  const grow = setInterval(() => {
    held.push(Buffer.alloc(20 * 1024 * 1024, 1));
    if (held.length === 30) clearInterval(grow);
  }, 20);
  setInterval(() => {}, 1000);
} else {
  // Long enough to be sampled (every 250 ms).
  const end = Date.now() + 600; while (Date.now() < end) {}
  require('node:fs').writeFileSync(process.env.MIYABI_USAGE_FILE, JSON.stringify({ inputTokens: 10, costUsd: 0.5 }));
}
`;

describe.skipIf(!redisServer || process.platform !== 'linux')('maxMemory with queue', () => {
  let redis: TestRedis;
  const workers: QueueWorker[] = [];
  beforeAll(async () => {
    redis = await startRedis(redisServer as string);
  });
  afterAll(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close({ cancelRunning: true })));
    await redis?.dispose();
  });

  it("travels in each job: the worker's pool stops a task above it, and resources and usage come back", async () => {
    const repo = createTempRepo({ withRemote: true });
    workers.push(
      await startWorker({
        connection: redis.url,
        repo: join(tempDir(), 'clone'),
        queueName: 'bounded',
        remote: repo.remote as string,
      }),
    );
    const pool = await WorktreePool.create({
      repoPath: repo.path,
      maxMemory: '150M',
      timeoutMs: 60_000,
      queue: { connection: redis.url, name: 'bounded' },
    });
    const result = await pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2 }],
      commandExecutor([process.execPath, '-e', TASK]),
    );
    const [first, second] = result.results;
    // Without the limit on the worker, issue 1 would run into its timeout instead.
    expect(first).toMatchObject({ status: 'failed', stage: 'execute', error: { code: 'MEMORY_LIMIT' } });
    expect(first?.resources?.memoryLimit?.limitBytes).toBe(150 * 1024 ** 2);
    expect(second).toMatchObject({ status: 'success', usage: { inputTokens: 10, costUsd: 0.5 } });
    expect(second?.resources?.peakRssBytes).toBeGreaterThan(0);
  });
});
