import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTempRepo } from './helpers/temp-repo.js';

const dist = join(import.meta.dirname, '..', 'dist');

/** Runs an ES module script in a node whose umask is 000, so only explicit modes hold. */
function underUmask000(script: string, cwd: string): void {
  execFileSync('sh', ['-c', 'umask 000 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
    cwd,
    stdio: 'inherit',
  });
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('files written under the git dir', () => {
  it('get 0644 (registry, journal) and 0600 (logs, in a 0700 folder) whatever the umask', () => {
    const repo = createTempRepo();
    const log = join(repo.path, '.git', 'miyabi', 'logs', 'batch-1', 'issue-1.log');
    underUmask000(
      `const { WorktreeManager } = await import(${JSON.stringify(join(dist, 'index.js'))});
       const { openLogFile } = await import(${JSON.stringify(join(dist, 'state', 'log-file.js'))});
       const manager = await WorktreeManager.open({ repoPath: process.cwd(), config: false });
       await manager.createWorktree(1);
       await manager.flush();
       await openLogFile(${JSON.stringify(log)});`,
      repo.path,
    );
    const state = join(repo.path, '.git', 'miyabi');
    expect(mode(join(state, 'registry.json'))).toBe('644');
    expect(mode(join(state, 'telemetry.jsonl'))).toBe('644');
    expect(mode(log)).toBe('600');
    expect(mode(join(state, 'logs', 'batch-1'))).toBe('700');
  });
});
