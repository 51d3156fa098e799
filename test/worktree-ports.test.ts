import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandTaskArgv, WorktreeManager, WorktreePool, worktreeEnvironment } from '../src/index.js';
import { json, runCli } from './helpers/cli-process.js';
import { createTempRepo, type TempRepo } from './helpers/temp-repo.js';

/** A repository whose configuration gives each worktree `count` ports from a base unlikely to be busy. */
function repoWithPorts(count: number): { repo: TempRepo; base: number } {
  const base = 30000 + Math.floor(Math.random() * 2000) * 10;
  const repo = createTempRepo();
  writeFileSync(join(repo.path, 'miyabi-worktree.config.json'), JSON.stringify({ ports: { base, count } }));
  return { repo, base };
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

describe('port blocks', () => {
  it('gives each live worktree its own block, skips ports another program holds, and frees a block on removal', async () => {
    const { repo, base } = repoWithPorts(3);
    // Another program's server on the second port of the first block: that whole block is skipped.
    const busy = await listen(base + 1);
    try {
      const manager = await WorktreeManager.open({ repoPath: repo.path });
      const a = await manager.createWorktree(1);
      const b = await manager.createWorktree(2);
      expect(a.ports).toEqual([base + 3, base + 4, base + 5]);
      expect(b.ports).toEqual([base + 6, base + 7, base + 8]);
      expect(worktreeEnvironment(a)).toMatchObject({
        MIYABI_PORT: String(base + 3),
        MIYABI_PORTS: `${base + 3},${base + 4},${base + 5}`,
      });
      expect(expandTaskArgv(['--port={port}'], a)).toEqual([`--port=${base + 3}`]);
      // Another process sees them.
      const listed = json<{ id: string; ports: number[] }[]>(
        await runCli(['list', '--json'], { cwd: repo.path }),
      );
      expect(listed.map((w) => w.ports)).toEqual([a.ports, b.ports]);
      await manager.removeWorktree(a.id);
      const c = await manager.createWorktree(3);
      expect(c.ports).toEqual(a.ports);
    } finally {
      busy.close();
    }
  });

  it('keeps a reused worktree on the same block across tasks', async () => {
    const { repo, base } = repoWithPorts(2);
    const pool = await WorktreePool.create({ repoPath: repo.path, maxConcurrency: 1, reuse: true });
    const seen: (string | undefined)[] = [];
    const result = await pool.executeParallel(
      [{ issueNumber: 1 }, { issueNumber: 2 }],
      async (_w, _t, ctx) => {
        seen.push(ctx.env.MIYABI_PORTS);
      },
    );
    expect(result.allSuccessful).toBe(true);
    expect(result.results[1]?.reusedWorktree).toBe(true);
    expect(seen).toEqual([`${base},${base + 1}`, `${base},${base + 1}`]);
  });

  it('refuses {port} in a run command when the configuration gives no ports', async () => {
    const repo = createTempRepo();
    const result = await runCli(['run', '--issues', '1', '--', 'echo', '{port}'], { cwd: repo.path });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'the command uses {port}, but the configuration gives worktrees no ports',
    );
  });
});
