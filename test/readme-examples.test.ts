import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { WorktreeManager } from '../src/index.js';
import { CLI } from './helpers/cli-process.js';
import { requireBinary } from './helpers/external-binary.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { startRedis, type TestRedis } from './helpers/redis-server.js';
import { createTempRepo, type TempRepo, tempDir } from './helpers/temp-repo.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The text of `## title` up to the next `## ` heading. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start === -1) return '';
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

function blocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map(
    (match) => match[1] as string,
  );
}

// ---------------------------------------------------------------------------------------------
// The recipes: every ```sh block of README's "Recipes", run by bash as written, in a fresh
// repository with a bare `origin`, `miyabi-worktree` on PATH (the built CLI) and a HOME of its own.
// The only changes: GitHub commands get `--github-api-url` of a local fake GitHub, and the queue
// recipe gets a Redis this test started on a free port (instead of its `redis-server` line).

const recipes = section(readme, 'Recipes');
/** The stand-in agent every recipe uses, before the first `###`. */
const agentBlock = blocks(recipes.slice(0, recipes.indexOf('\n### ')), 'sh').join('\n');
const recipeBlocks = new Map(
  recipes
    .split('\n### ')
    .slice(1)
    .map((part) => [part.slice(0, part.indexOf('\n')), blocks(part, 'sh').join('\n')] as const)
    .filter(([, code]) => code !== ''),
);

let server: FakeGitHub | undefined;
let redis: TestRedis | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await redis?.dispose();
  redis = undefined;
});

interface RecipeRun {
  readonly stdout: string;
  readonly stderr: string;
}

async function runRecipe(
  title: string,
  repo: TempRepo,
  edit: (code: string) => string = (code) => code,
  env: Record<string, string> = {},
): Promise<RecipeRun> {
  const code = recipeBlocks.get(title);
  if (code === undefined) throw new Error(`README has no recipe "${title}" with a sh block`);
  const home = tempDir('miyabi-home-');
  const bin = join(home, '.bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'miyabi-worktree'),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`,
  );
  chmodSync(join(bin, 'miyabi-worktree'), 0o755);
  const script = join(home, 'recipe.sh');
  writeFileSync(script, `${agentBlock}\n${edit(code)}\n`);
  try {
    return await promisify(execFile)('bash', ['-e', '-u', '-o', 'pipefail', script], {
      cwd: repo.path,
      env: { ...process.env, HOME: home, PATH: `${bin}:${process.env.PATH ?? ''}`, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`recipe "${title}" failed: ${failed.message}\n${failed.stdout}\n${failed.stderr}`);
  }
}

describe("the README's recipes run as written", () => {
  it('are all here, each with commands', () => {
    expect(agentBlock).toContain('agent.sh');
    expect([...recipeBlocks.keys()]).toEqual([
      'A local batch, merged back',
      'GitHub issues to pull requests',
      'Warm worktrees with dependencies and ports',
      'Many machines: a queue',
      'Agents that run overnight',
    ]);
  });

  it('a local batch, merged back', async () => {
    const repo = createTempRepo({ withRemote: true });
    const { stdout } = await runRecipe('A local batch, merged back', repo);
    expect(stdout).toContain('Notes for issue #3');
    expect(repo.git('ls-tree', '--name-only', 'main').split('\n')).toEqual(
      expect.arrayContaining(['notes-1.md', 'notes-2.md', 'notes-3.md']),
    );
    expect(repo.git('worktree', 'list').split('\n')).toHaveLength(1);
  });

  it('GitHub issues to pull requests (against a local fake GitHub)', async () => {
    const repo = createTempRepo({ withRemote: true });
    const token = 'ghp_readme_recipe_token';
    server = await startFakeGitHub({
      token,
      issues: [
        { number: 1, title: 'First', body: 'one', labels: ['ready'] },
        { number: 2, title: 'Second', body: 'two', labels: ['ready'] },
        { number: 3, title: 'Not ready', labels: ['later'] },
      ],
    });
    const url = server.url;
    const { stdout } = await runRecipe(
      'GitHub issues to pull requests',
      repo,
      (code) => code.replaceAll('--github octo/hello', `--github octo/hello --github-api-url ${url}`),
      { GITHUB_TOKEN: token, GH_TOKEN: '' },
    );
    expect(stdout).toContain('#2  Second');
    expect(server.pulls.map((pull) => pull.head).sort()).toEqual([
      'octo:feature/issue-1',
      'octo:feature/issue-2',
    ]);
    expect(repo.git('--git-dir', repo.remote ?? '', 'show', 'feature/issue-1:notes-1.md')).toContain('First');
  });

  it('warm worktrees with dependencies and ports', async () => {
    const repo = createTempRepo({ files: { '.gitignore': 'node_modules/\n' } });
    repo.write('node_modules/pkg/index.js', 'module.exports = 1;\n');
    const { stdout } = await runRecipe('Warm worktrees with dependencies and ports', repo);
    expect(stdout).toMatch(/port \d+/);
    expect(stdout).toContain('idle');
    expect(repo.git('worktree', 'list').split('\n')).toHaveLength(1);
  });

  const redisServer = requireBinary('redis-server', "the README's queue recipe");
  it.skipIf(!redisServer)('many machines: a queue', async () => {
    const repo = createTempRepo({ withRemote: true });
    redis = await startRedis(redisServer as string);
    const url = redis.url;
    await runRecipe('Many machines: a queue', repo, (code) =>
      code
        .split('\n')
        .filter((line) => !line.startsWith('redis-server '))
        .join('\n')
        .replaceAll('redis://127.0.0.1:6379', url),
    );
    expect(repo.git('ls-tree', '--name-only', 'main').split('\n')).toEqual(
      expect.arrayContaining(['notes-1.md', 'notes-2.md', 'notes-3.md', 'notes-4.md']),
    );
  });

  it('agents that run overnight: a usage limit pauses, a killed batch resumes', async () => {
    const repo = createTempRepo({ withRemote: true });
    const { stdout } = await runRecipe('Agents that run overnight', repo);
    expect(stdout).toContain('the run died');
    // `status` named the unfinished batch; the resumed run finished all three.
    expect(stdout).toContain('run --resume');
    expect(stdout).toMatch(/3 tasks: 3 succeeded/);
    expect(repo.git('ls-tree', '--name-only', 'main').split('\n')).toEqual(
      expect.arrayContaining(['notes-1.md', 'notes-2.md', 'notes-3.md']),
    );
    expect(repo.git('worktree', 'list').split('\n')).toHaveLength(1);
    // Issue 2 waited out its usage limit once; the batch's record covers all three.
    const manager = await WorktreeManager.open({ repoPath: repo.path });
    const record = await manager.batchRecord();
    expect(record.results.map((result) => [result.issueNumber, result.status, result.pause?.count])).toEqual([
      [1, 'success', undefined],
      [2, 'success', 1],
      [3, 'success', undefined],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// The library examples: every ```js block of the README and of docs/api.md, as written.

const libraryExamples = [
  ...blocks(readme, 'js').map((code) => ['README.md', code] as const),
  ...blocks(readFileSync(join(root, 'docs', 'api.md'), 'utf8'), 'js').map(
    (code) => ['docs/api.md', code] as const,
  ),
];

describe('the library examples', () => {
  it('are there', () => {
    expect(libraryExamples.filter(([page]) => page === 'README.md').length).toBeGreaterThanOrEqual(1);
    expect(libraryExamples.filter(([page]) => page === 'docs/api.md').length).toBeGreaterThanOrEqual(2);
  });

  it.each(libraryExamples.map(([page, code], index) => [page, index + 1, code] as const))(
    '%s example %i runs as written in a fresh repository with a remote',
    async (_page, index, code) => {
      const repo = createTempRepo({ withRemote: true });
      // Inside the package folder, so that `import 'miyabi-worktree'` resolves to this package.
      const script = join(root, `.readme-example-${process.pid}-${index}.mjs`);
      writeFileSync(script, code);
      try {
        const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: repo.path });
        expect(stdout).not.toBe('');
      } finally {
        rmSync(script, { force: true });
      }
      // Nothing left behind but the main checkout.
      expect(repo.git('worktree', 'list').split('\n')).toHaveLength(1);
    },
  );
});
