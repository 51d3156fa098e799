import { describe, expect, it } from 'vitest';
import type { RunTaskOutput } from '../src/cli/run/task-executor.js';
import type { PoolExecutionResult } from '../src/pool/types.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo } from './helpers/temp-repo.js';

type RunJson = PoolExecutionResult<RunTaskOutput>;

// Fails (exit 1) for the attempts listed in $FAILING ("7/v1,8/v2"), else commits and succeeds; an
// issue listed in $HANG waits until it is killed.
const AGENT = `
const fs = require('fs'), { execFileSync } = require('child_process');
const me = process.env.MIYABI_ISSUE_NUMBER + '/v' + process.env.MIYABI_VARIANT;
if ((process.env.HANG || '').split(',').includes(process.env.MIYABI_ISSUE_NUMBER)) setInterval(() => {}, 1000);
else if ((process.env.FAILING || '').split(',').includes(me)) process.exit(1);
else {
  fs.writeFileSync('work-' + process.env.MIYABI_VARIANT + '.txt', me + '\\n');
  execFileSync('git', ['add', '-A']);
  execFileSync('git', ['commit', '-q', '-m', me]);
}
`;

function failFast(issues: string, env: Record<string, string>) {
  const repo = createTempRepo();
  return runCli(
    [
      'run',
      '--issues',
      issues,
      '--variants',
      '2',
      '--concurrency',
      '1',
      '--fail-fast',
      '--merge',
      '--radar-interval',
      '0',
      '--json',
      '--',
      process.execPath,
      '-e',
      AGENT,
    ],
    { cwd: repo.path, env },
  );
}

describe('--fail-fast with variants reacts to a failed issue, not a failed attempt', () => {
  it('one failed attempt does not stop its sibling, which wins', async () => {
    const result = await failFast('7', { FAILING: '7/v1' });
    expect(result.code).toBe(0);
    const [issue] = json<RunJson>(result).results;
    expect(issue?.status).toBe('success');
    expect(issue?.winner).toBe(2);
    expect(issue?.variants?.map((v) => v.status)).toEqual(['failed', 'success']);
  });

  it('an issue all of whose attempts failed cancels the rest of the batch', async () => {
    const result = await failFast('7,8', { FAILING: '7/v1,7/v2', HANG: '8' });
    expect(result.code).toBe(1);
    const results = json<RunJson>(result).results;
    expect(results.map((r) => [r.issueNumber, r.status])).toEqual([
      [7, 'failed'],
      [8, 'cancelled'],
    ]);
    expect(results[1]?.variants?.map((v) => v.status)).toEqual(['cancelled', 'cancelled']);
  });
});
