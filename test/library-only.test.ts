import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTempRepo } from './helpers/temp-repo.js';
import { runLibraryProgram } from './library-only/library-program.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

describe('the library is the only door', () => {
  it('a program importing only the package entry typechecks under strict and exactOptionalPropertyTypes', () => {
    // Throws with tsc's diagnostics on any type error.
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(here, 'library-only')],
      {
        stdio: 'pipe',
      },
    );
    // tsc alone takes ~13 s of CPU: with other test files on 2 cores, far more than the 60 s default.
  }, 240_000);

  it('does config + include + setup + pool + merge + push + archives with no CLI code', async () => {
    const repo = createTempRepo({ withRemote: true });
    repo.commit(
      {
        '.gitignore': '.env\nsetup-ran.txt\n',
        '.worktreeinclude': '.env\n',
        'miyabi-worktree.config.json': JSON.stringify({
          maxConcurrency: 2,
          setup: [[process.execPath, '-e', "require('fs').writeFileSync('setup-ran.txt', 'yes')"]],
        }),
      },
      'configure',
    );
    repo.write('.env', 'TOKEN=from-the-main-checkout\n');
    const report = await runLibraryProgram(repo.path);
    expect(report.maxConcurrency).toBe(2);
    expect([...report.completed].sort()).toEqual(['1:success', '2:failed']);
    expect([1, 2]).toContain(report.firstCreated);
    expect(report.setup).toHaveLength(1);
    const [one, two] = report.results;
    expect(one).toMatchObject({ status: 'success', output: 'issue 1 done', push: { remote: 'origin' } });
    expect(one?.prepare).toMatchObject({ copied: ['.env'], setup: [{ argv: expect.any(Array) }] });
    expect(one?.merge?.status).toMatch(/^(merged|fast-forwarded)$/);
    // The include was copied before the agent ran: its commit carries the main checkout's .env.
    expect(repo.git('show', 'main:done-1.txt')).toBe('TOKEN=from-the-main-checkout');
    // Issue 2 committed nothing: not merged, its files archived, and dropping that archive needs force.
    expect(two).toMatchObject({ status: 'failed', stage: 'merge', error: { code: 'NOTHING_COMMITTED' } });
    expect(two?.unmergedWork?.paths).toEqual(['done-2.txt']);
    expect(report.archives).toHaveLength(1);
    expect(report.refusedDrop).toBe('UNMERGED_WORK');
    expect(report.dropped).toBe(report.archives[0]);
    expect(repo.git('for-each-ref', 'refs/miyabi/archive/')).toBe('');
    expect(readFileSync(one?.logFile as string, 'utf8')).toContain('# miyabi-worktree: issue 1');
  });

  it('no file in src/cli imports from src/* except through the package entry and the one internal module', () => {
    const cli = join(root, 'src', 'cli');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          for (const match of readFileSync(path, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
            const target = join(dirname(path), match[1] as string);
            const inCli = target.startsWith(`${cli}/`);
            const door =
              target === join(root, 'src', 'index.js') || target === join(root, 'src', 'internal.js');
            if (!inCli && !door) offenders.push(`${path}: ${match[1]}`);
          }
        }
      }
    };
    walk(cli);
    expect(offenders).toEqual([]);
  });

  it('the internal module is no second door: it exports nothing public, and the package does not expose it', async () => {
    const entry = Object.keys(await import(join(root, 'dist', 'index.js')));
    const internal = Object.keys(await import(join(root, 'dist', 'internal.js')));
    expect(internal.length).toBeGreaterThan(0);
    expect(internal.filter((name) => entry.includes(name))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: object };
    expect(Object.keys(pkg.exports)).toEqual(['.', './package.json']);
    // Resolved by the package's own name, as a user's import would be: refused by the exports map.
    const selfImport = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "await import('miyabi-worktree/dist/internal.js')"],
      { cwd: root, encoding: 'utf8' },
    );
    expect(selfImport.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('exports no CLI plumbing and none of the dead names', async () => {
    const entry = Object.keys(await import(join(root, 'dist', 'index.js')));
    // Found at all: else the check below could pass by seeing nothing.
    expect(entry).toContain('WorktreeManager');
    const gone = [
      'checkHtmlReportPath',
      'formatArgv',
      'openLogFile',
      'toError',
      'resolveTelemetryLocale',
      'issuePlaceholderValues',
      'apiUrlForHost',
      'forceStopProcessGroups',
      'lastLines',
      'killAllProcessGroups',
      'liveProcessGroupCount',
      'escapeHtml',
      'parseQueueJob',
      'toGitHubError',
      'relativePathProblem',
      'describeError',
      'branchSummary',
      'checkDuration',
      'buildBatchTimeline',
      'truncateIssueText',
      'WORKTREE_ID_VAR',
      'QUEUE_PAYLOAD_VERSION',
    ];
    expect(entry.filter((name) => gone.includes(name))).toEqual([]);
  });
});
