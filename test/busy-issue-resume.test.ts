import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isMiyabiError, WorktreeManager, WorktreePool } from '../src/index.js';
import { runCli, stoppedAfterEachTest } from './helpers/cli-process.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const startCli = stoppedAfterEachTest();

describe('ISSUE_BUSY of an issue an unfinished batch holds', () => {
  it('names run --resume <batch id> in the CLI and resumeBatch(id) in the library', async () => {
    const repo = createTempRepo();
    const marks = tempDir();
    // Issue 1 ends at once; issue 2's agent says it started, then waits for the test's go.
    const agent = [
      'sh',
      '-c',
      `[ "$MIYABI_ISSUE_NUMBER" = 1 ] && exit 0; touch "${marks}/started"; while [ ! -e "${marks}/go" ]; do sleep 0.05; done`,
    ];
    const run = startCli(['run', '--issues', '1,2', '--radar-interval', '0', '--', ...agent], {
      cwd: repo.path,
    });
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const recorded = async () => {
      const [batch] = await manager.listBatches();
      return batch === undefined ? [] : (await manager.batchRecord(batch.id)).results;
    };
    while (!existsSync(join(marks, 'started')) || (await recorded()).length === 0) {
      expect(run.child.exitCode, run.stderr()).toBeNull();
      await sleep(20);
    }
    run.child.kill('SIGKILL');
    await run.done;
    await writeFile(join(marks, 'go'), '');
    const [batch] = await manager.listBatches();
    const id = batch?.id as string;

    const rerun = await runCli(['run', '--issues', '2', '--', 'true'], { cwd: repo.path });
    expect(rerun.code).toBe(2);
    expect(rerun.stderr.trim().split('\n')).toHaveLength(1);
    expect(rerun.stderr).toContain('[ISSUE_BUSY]');
    expect(rerun.stderr).toContain(`'miyabi-worktree run --resume ${id}'`);

    const pool = await WorktreePool.create({ repoPath: repo.path });
    const error = await pool.executeParallel([{ issueNumber: 2 }], async () => {}).catch((e: unknown) => e);
    expect(isMiyabiError(error, 'ISSUE_BUSY')).toBe(true);
    expect((error as Error & { hint: string }).hint).toContain(`resumeBatch('${id}')`);
    expect((error as Error & { details: Record<string, unknown> }).details.resumableBatch).toBe(id);
    // Nothing new was recorded: the resume still finds that batch.
    expect((await manager.listBatches()).map((record) => record.id)).toEqual([id]);

    // The resume's start line counts the one task it runs again, not the batch's two.
    const resumed = await runCli(['run', '--resume'], { cwd: repo.path });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/^Running .* for 1 issue \(/m);
  });
});
