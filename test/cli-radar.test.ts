import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Overlap, PoolExecutionResult } from '../src/index.js';
import { eventually, json, runCli, stoppedAfterEachTest } from './helpers/cli-process.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

const APP = 'lib/application.js';

/** A task command: set the app's first line to the issue number, commit, then wait for `barrier` (if given). */
function editAndWait(barrier?: string): string[] {
  const wait = barrier ? `; while [ ! -e '${barrier}' ]; do sleep 0.05; done` : '';
  return [
    'sh',
    '-c',
    `printf 'const app = %s;\\n' "$MIYABI_ISSUE_NUMBER" > ${APP} && git commit -q -am "issue $MIYABI_ISSUE_NUMBER"${wait}`,
  ];
}

const startCli = stoppedAfterEachTest();

describe('conflict radar in the CLI', () => {
  it('shows "#a ↔ #b conflict in <path>" while both tasks run, and carries overlaps in run --json', async () => {
    const repo = createTempRepo({ files: { [APP]: 'const app = 0;\n' } });
    const barrier = join(tempDir(), 'go');
    const run = startCli(
      ['run', '--issues', '3,5', '--radar-interval', '100ms', '--json', '--', ...editAndWait(barrier)],
      { cwd: repo.path },
    );
    const line = /#(3|5) ↔ #(3|5) conflict in lib\/application\.js/;
    const seen = await eventually(() => line.test(run.stderr()), 20_000);
    // Both tasks still wait for the barrier: the warning came before either finished.
    expect(run.stderr()).not.toMatch(/#\d+ success/);
    writeFileSync(barrier, '');
    const result = await run.done;
    expect(seen).toBe(true);
    // A warning alone never changes the exit code.
    expect(result.code).toBe(0);
    const batch = json<PoolExecutionResult>(result);
    expect(batch.overlaps).toEqual([
      {
        a: expect.objectContaining({ branch: expect.stringMatching(/^feature\/issue-[35]$/) }),
        b: expect.objectContaining({ branch: expect.stringMatching(/^feature\/issue-[35]$/) }),
        files: [APP],
        conflict: true,
        conflictPaths: [APP],
      },
    ]);
    // The text report says it too.
    expect(result.stderr).toMatch(/Overlap: #[35] ↔ #[35] conflict in lib\/application\.js/);
  });

  it('lists the overlaps of worktrees run --keep left, with conflicts --json', async () => {
    const repo = createTempRepo({ files: { [APP]: 'const app = 0;\n', 'other.txt': 'x\n' } });
    const kept = await runCli(
      ['run', '--issues', '1,2', '--keep', '--radar-interval', '0', '--', ...editAndWait()],
      {
        cwd: repo.path,
      },
    );
    expect(kept.code).toBe(0);
    const result = await runCli(['conflicts', '--json'], { cwd: repo.path });
    expect(result.code).toBe(0);
    const overlaps = json<Overlap[]>(result);
    // Both were made at once: which one took the repository lock first (a) is a race, not the point.
    expect(overlaps).toMatchObject([{ conflict: true, conflictPaths: [APP] }]);
    const pair = overlaps.map((o) => [o.a.issue, o.b.issue].sort());
    expect(pair).toEqual([[1, 2]]);
    expect(overlaps[0]?.a.branch).toBe(`feature/issue-${overlaps[0]?.a.issue}`);
    const text = await runCli(['conflicts'], { cwd: repo.path });
    expect(text.stdout).toMatch(/^#[12] ↔ #[12] conflict in lib\/application\.js/m);
  });

  it('refuses a bad --on-overlap before anything starts (exit 2)', async () => {
    const repo = createTempRepo();
    const result = await runCli(['run', '--issues', '1', '--on-overlap', 'stop', '--', 'true'], {
      cwd: repo.path,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--on-overlap/);
  });
});
