import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo, git, type TempRepo, tempDir } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

// The project's check: fails when an attempt left a file named broken.txt.
const CHECK = "if (require('fs').existsSync('broken.txt')) { console.error('broken'); process.exit(1); }\n";
// The score: the number an attempt wrote to score.txt (printed last, after some chatter).
const SCORE =
  "console.log('scoring…'); console.log(require('fs').readFileSync('score.txt', 'utf8').trim());\n";

// One agent, told its variant by `{variant}` (argv) and MIYABI_VARIANT (env): v1 breaks the check,
// v2 and v3 pass with the scores of $SCORES (comma-separated, by variant). Each records its commit.
const AGENT = `
const fs = require('fs'), { execFileSync } = require('child_process');
const variant = process.argv[1];
if (variant !== process.env.MIYABI_VARIANT) throw new Error('{variant} was not replaced: ' + variant);
const score = (process.env.SCORES || '').split(',')[Number(variant) - 1];
if (score === 'broken') fs.writeFileSync('broken.txt', 'v' + variant + '\\n');
else fs.writeFileSync('score.txt', score + '\\n');
fs.writeFileSync('work-' + variant + '.txt', process.env.MIYABI_VARIANT_NAME + '\\n');
execFileSync('git', ['add', '-A']);
execFileSync('git', ['commit', '-q', '-m', 'variant ' + variant]);
fs.writeFileSync(process.env.MARKS + '/' + variant, execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim());
`;

function project(): TempRepo {
  const repo = createTempRepo();
  repo.commit({ 'check.js': CHECK, 'score.js': SCORE }, 'a project with a check and a score');
  return repo;
}

describe('variants: several attempts per issue, the check gates, the score ranks, the best one lands', () => {
  it('v1 fails the check, v2 and v3 pass with 70 and 90: v3 lands alone, the scoreboard is in --json and the summary, the losers are archived', async () => {
    const repo = project();
    const marks = tempDir();
    const base = git(repo.path, 'rev-parse', 'main');
    const result = await runCli(
      [
        'run',
        '--issues',
        '7',
        '--variants',
        '3',
        '--merge',
        '--check',
        'node check.js',
        '--score',
        'node score.js',
        '--json',
        '--',
        process.execPath,
        '-e',
        AGENT,
        '{variant}',
      ],
      { cwd: repo.path, env: { MARKS: marks, SCORES: 'broken,70,90' } },
    );
    expect(result.stderr).toMatch(/^#7 v3 won \(90\) · v2 70 · v1 check failed$/m);
    expect(result.code).toBe(0);
    const batch = json<RunJson>(result);
    expect(batch.totalTasks).toBe(1);
    expect(batch.successCount).toBe(1);
    const [issue] = batch.results;
    expect(issue?.status).toBe('success');
    expect(issue?.winner).toBe(3);
    expect(issue?.decidedBy).toBe('score');
    expect(issue?.branchName).toBe('feature/issue-7-v3');
    expect(
      issue?.variants?.map((v) => [v.variant, v.name, v.branch, v.checkPassed, v.score ?? null, v.won]),
    ).toEqual([
      [1, 'v1', 'feature/issue-7-v1', false, null, false],
      [2, 'v2', 'feature/issue-7-v2', true, 70, false],
      [3, 'v3', 'feature/issue-7-v3', true, 90, true],
    ]);
    expect(issue?.variants?.[0]?.stage).toBe('check');
    // v3 alone landed: main is its commit (or a merge of it) and holds none of the others' work.
    const v3 = readFileSync(join(marks, '3'), 'utf8');
    git(repo.path, 'merge-base', '--is-ancestor', v3, 'main');
    expect(git(repo.path, 'ls-tree', '--name-only', 'main')).not.toMatch(/work-1|work-2|broken/);
    expect(issue?.landing?.checkedCommit).toBe(git(repo.path, 'rev-parse', 'main'));
    expect(git(repo.path, 'rev-list', '--count', `${base}..main`)).not.toBe('0');
    // The losers' commits are reachable from their archives, which `archives` lists.
    const archives = json<{ ref: string }[]>(await runCli(['archives', '--json'], { cwd: repo.path })).map(
      (entry) => entry.ref,
    );
    for (const loser of [1, 2]) {
      const entry = issue?.variants?.find((v) => v.variant === loser);
      expect(entry?.archiveRef).toMatch(/^refs\/miyabi\/archive\//);
      expect(archives).toContain(entry?.archiveRef);
      const commit = readFileSync(join(marks, String(loser)), 'utf8');
      git(repo.path, 'merge-base', '--is-ancestor', commit, entry?.archiveRef ?? '');
    }
    // No worktree is left behind.
    expect(git(repo.path, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  });
});

export function writeConfig(repo: TempRepo, config: unknown): void {
  writeFileSync(join(repo.path, 'miyabi-worktree.config.json'), JSON.stringify(config));
}
