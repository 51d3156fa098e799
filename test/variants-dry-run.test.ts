import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskPlan } from '../src/cli/run/batch-plan.js';
import { json, runCli } from './helpers/cli-process.js';
import { repoState } from './helpers/repo-state.js';
import { createTempRepo } from './helpers/temp-repo.js';

describe('run --dry-run with variants plans each attempt', () => {
  it('lists every attempt with its branch, its command and its environment names, in --json and as text', async () => {
    const repo = createTempRepo();
    writeFileSync(
      join(repo.path, 'miyabi-worktree.config.json'),
      JSON.stringify({
        variants: [
          { name: 'quick', command: ['node', 'quick.js', '{issue}', '{variant}'], env: { MODEL: 'a' } },
          { name: 'careful' },
        ],
      }),
    );
    const before = repoState(repo.path);
    const dry = await runCli(
      ['run', '--issues', '5,6', '--dry-run', '--json', '--', 'node', 'agent.js', '{variant}'],
      {
        cwd: repo.path,
      },
    );
    expect(dry.code).toBe(0);
    const { tasks } = json<{ tasks: TaskPlan[] }>(dry);
    expect(tasks.map((plan) => [plan.issueNumber, plan.variant, plan.branch, plan.command])).toEqual([
      [
        5,
        { variant: 1, name: 'quick', env: ['MIYABI_VARIANT', 'MIYABI_VARIANT_NAME', 'MODEL'] },
        'feature/issue-5-v1',
        ['node', 'quick.js', '5', '1'],
      ],
      [
        5,
        { variant: 2, name: 'careful', env: ['MIYABI_VARIANT', 'MIYABI_VARIANT_NAME'] },
        'feature/issue-5-v2',
        ['node', 'agent.js', '2'],
      ],
      [
        6,
        { variant: 1, name: 'quick', env: ['MIYABI_VARIANT', 'MIYABI_VARIANT_NAME', 'MODEL'] },
        'feature/issue-6-v1',
        ['node', 'quick.js', '6', '1'],
      ],
      [
        6,
        { variant: 2, name: 'careful', env: ['MIYABI_VARIANT', 'MIYABI_VARIANT_NAME'] },
        'feature/issue-6-v2',
        ['node', 'agent.js', '2'],
      ],
    ]);
    const text = await runCli(['run', '--issues', '5', '--dry-run', '--', 'node', 'agent.js'], {
      cwd: repo.path,
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^#5 v1 \(quick\)$/m);
    expect(text.stdout).toMatch(/^ {2}branch {3}feature\/issue-5-v2 from main/m);
    expect(text.stdout).toMatch(/^ {2}env {6}MIYABI_VARIANT MIYABI_VARIANT_NAME MODEL$/m);
    expect(text.stderr).toContain('Dry run: 1 issue would run (2 attempts); nothing was started.');
    expect(repoState(repo.path)).toEqual(before);
  });
});
