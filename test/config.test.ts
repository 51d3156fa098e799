import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConcurrency } from '../src/cli/parse-concurrency.js';
import { parseConfig } from '../src/config/config-schema.js';
import {
  CONFIG_FILE_NAME,
  DEFAULT_BRANCH_PATTERN,
  DEFAULT_SETUP_TIMEOUT_MS,
  expandBranchPattern,
} from '../src/config/config-types.js';
import { loadConfig } from '../src/config/load-config.js';
import { locateJsonError } from '../src/config/parse-json-text.js';
import { MiyabiError } from '../src/errors.js';
import { branchNameProblem } from '../src/git/branch-name.js';
import { tempDir } from './helpers/temp-repo.js';

async function rejection(promise: Promise<unknown>): Promise<MiyabiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MiyabiError);
    return error as MiyabiError;
  }
  throw new Error('expected a MiyabiError, the promise resolved');
}

function parseError(data: unknown): MiyabiError {
  try {
    parseConfig(data);
  } catch (error) {
    expect(error).toBeInstanceOf(MiyabiError);
    return error as MiyabiError;
  }
  throw new Error(`expected ${JSON.stringify(data)} to be rejected`);
}

describe('loadConfig', () => {
  it('returns the defaults and no source when there is no configuration', async () => {
    const root = tempDir();
    expect(await loadConfig(root)).toEqual({
      config: {
        branchPattern: DEFAULT_BRANCH_PATTERN,
        setup: [],
        setupTimeoutMs: DEFAULT_SETUP_TIMEOUT_MS,
        include: true,
        reuse: false,
        keepPaths: ['node_modules', '.venv', 'target'],
        share: [],
      },
      source: null,
      warnings: [],
    });
  });

  it('reads miyabi-worktree.config.json at the root, converting durations to ms', async () => {
    const root = tempDir();
    writeFileSync(
      join(root, CONFIG_FILE_NAME),
      JSON.stringify({
        $schema: 'https://example.invalid/schema.json',
        worktreeDir: '../wt',
        maxConcurrency: 4,
        timeout: '1h30m',
        baseBranch: 'develop',
        branchPattern: 'agent/{issue}',
        setup: [
          ['npm', 'ci'],
          ['node', 'scripts/seed.js', '--fast'],
        ],
        setupTimeout: 120_000,
        include: false,
      }),
    );
    const loaded = await loadConfig(root);
    expect(loaded.source).toBe(join(root, CONFIG_FILE_NAME));
    expect(loaded.config).toEqual({
      worktreeDir: '../wt',
      maxConcurrency: 4,
      timeoutMs: 5_400_000,
      baseBranch: 'develop',
      branchPattern: 'agent/{issue}',
      setup: [
        ['npm', 'ci'],
        ['node', 'scripts/seed.js', '--fast'],
      ],
      setupTimeoutMs: 120_000,
      include: false,
      reuse: false,
      keepPaths: ['node_modules', '.venv', 'target'],
      share: [],
    });
  });

  it('reads the "miyabi-worktree" key of package.json and names it in errors', async () => {
    const root = tempDir();
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ name: 'x', 'miyabi-worktree': { maxConcurrency: 2 } }),
    );
    const loaded = await loadConfig(root);
    expect(loaded.source).toBe(join(root, 'package.json'));
    expect(loaded.config.maxConcurrency).toBe(2);

    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ 'miyabi-worktree': { maxConcurrency: 'two' } }),
    );
    const error = await rejection(loadConfig(root));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toBe(
      'package.json: miyabi-worktree.maxConcurrency: expected an integer from 1 to 64, got "two"',
    );
  });

  it('ignores a package.json without the key', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'x' }));
    expect((await loadConfig(root)).source).toBeNull();
  });

  it('prefers the dedicated file over the package.json key, and warns about it', async () => {
    const root = tempDir();
    writeFileSync(join(root, CONFIG_FILE_NAME), JSON.stringify({ maxConcurrency: 5 }));
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ 'miyabi-worktree': { maxConcurrency: 'bad' } }),
    );
    const loaded = await loadConfig(root);
    expect(loaded.config.maxConcurrency).toBe(5);
    expect(loaded.source).toBe(join(root, CONFIG_FILE_NAME));
    expect(loaded.warnings).toEqual([
      `package.json "miyabi-worktree" is ignored because ${CONFIG_FILE_NAME} exists`,
    ]);
  });

  it('rejects a package.json key that is not an object', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'package.json'), JSON.stringify({ 'miyabi-worktree': [1] }));
    const error = await rejection(loadConfig(root));
    expect(error.message).toBe('package.json: miyabi-worktree: expected a JSON object, got [1]');
  });

  it('reports invalid JSON with the file, line and column', async () => {
    const root = tempDir();
    writeFileSync(join(root, CONFIG_FILE_NAME), '{\n  "maxConcurrency": 3,\n  "timeout": }\n');
    const error = await rejection(loadConfig(root));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toBe(`${CONFIG_FILE_NAME}: invalid JSON at line 3, column 14: expected a value`);
    expect(error.details).toMatchObject({ file: CONFIG_FILE_NAME, line: 3, column: 14 });
  });

  it('reports a trailing comma and an empty file', async () => {
    const root = tempDir();
    writeFileSync(join(root, CONFIG_FILE_NAME), '{ "include": true, }');
    expect((await rejection(loadConfig(root))).message).toContain(
      "line 1, column 20: trailing comma before '}'",
    );
    writeFileSync(join(root, CONFIG_FILE_NAME), '');
    expect((await rejection(loadConfig(root))).message).toContain('line 1, column 1: unexpected end of file');
  });

  it('accepts a UTF-8 byte order mark', async () => {
    const root = tempDir();
    writeFileSync(join(root, CONFIG_FILE_NAME), '\uFEFF{"maxConcurrency": 1}');
    expect((await loadConfig(root)).config.maxConcurrency).toBe(1);
  });

  it('reports a configuration path that is a folder', async () => {
    const root = tempDir();
    mkdirSync(join(root, CONFIG_FILE_NAME));
    const error = await rejection(loadConfig(root));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain(`${CONFIG_FILE_NAME}: cannot be read`);
  });

  it('reports invalid JSON in package.json when it is the only source', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'package.json'), '{"name": "x"');
    const error = await rejection(loadConfig(root));
    expect(error.message).toMatch(/^package\.json: invalid JSON at line 1, column 13: /);
  });
});

describe('parseConfig', () => {
  it.each([
    [{ maxConcurrency: 'three' }, 'maxConcurrency: expected an integer from 1 to 64, got "three"'],
    [{ maxConcurrency: 0 }, 'maxConcurrency: expected an integer from 1 to 64, got 0'],
    [{ maxConcurrency: -2 }, 'maxConcurrency: expected an integer from 1 to 64, got -2'],
    [{ maxConcurrency: 2.5 }, 'maxConcurrency: expected an integer from 1 to 64, got 2.5'],
    [{ maxConcurrency: 65 }, 'maxConcurrency: expected an integer from 1 to 64, got 65'],
    [{ maxConcurrency: null }, 'maxConcurrency: expected an integer from 1 to 64, got null'],
    [{ worktreeDir: 3 }, 'worktreeDir: expected a string (a folder path), got 3'],
    [{ worktreeDir: '' }, 'worktreeDir: expected a non-empty folder path, got ""'],
    [{ timeout: 'soon' }, 'timeout: "soon" is not a duration'],
    [{ timeout: '0s' }, 'timeout: "0s" must be longer than zero'],
    [{ timeout: '8d' }, 'timeout: "8d" is longer than the maximum of 7 days'],
    [
      { timeout: -1 },
      'timeout: expected a duration like "30m" or a positive number of milliseconds up to 7 days, got -1',
    ],
    [
      { timeout: true },
      'timeout: expected a duration like "30m" or a positive number of milliseconds up to 7 days, got true',
    ],
    [{ setupTimeout: 'x' }, 'setupTimeout: "x" is not a duration'],
    [
      { baseBranch: 'my branch' },
      'baseBranch: "my branch" is not a valid branch name: it contains whitespace',
    ],
    [{ baseBranch: 7 }, 'baseBranch: expected a string (a branch name), got 7'],
    [{ branchPattern: 'feature/issue' }, 'branchPattern: "feature/issue" must contain {issue}'],
    [
      { branchPattern: 'feature/{slug}-{issue}' },
      'branchPattern: "feature/{slug}-{issue}" has an unknown placeholder {slug}',
    ],
    [
      { branchPattern: 'feature/{issue} x' },
      'branchPattern: "feature/{issue} x" may only use letters, digits',
    ],
    [{ branchPattern: 'a..b/{issue}' }, 'contains ".."'],
    [{ branchPattern: '-{issue}' }, 'starts with "-"'],
    [{ branchPattern: '{issue}.lock' }, 'ending with ".lock"'],
    [{ setup: 'npm ci' }, 'setup: expected an array of commands, e.g. [["npm", "ci"]], got "npm ci"'],
    [{ setup: ['npm ci'] }, 'setup[0]: expected a command as a non-empty array of strings'],
    [{ setup: [[]] }, 'setup[0]: expected a command as a non-empty array of strings'],
    [
      {
        setup: [
          ['npm', 'ci'],
          ['npm', ''],
        ],
      },
      'setup[1][1]: expected a non-empty string, got ""',
    ],
    [{ setup: [['npm', 1]] }, 'setup[0][1]: expected a string, got 1'],
    [{ include: 'yes' }, 'include: expected true or false, got "yes"'],
    [{ maxConcurency: 3 }, 'unknown key "maxConcurency" (did you mean "maxConcurrency"?)'],
    [{ colour: 'red' }, 'unknown key "colour" (known keys: worktreeDir, maxConcurrency,'],
    [
      { colour: 'red', sizes: 1, includ: true },
      'unknown key "includ" (did you mean "include"?); unknown keys "colour", "sizes" (known keys: worktreeDir,',
    ],
    [[], 'expected a JSON object, got []'],
    [null, 'expected a JSON object, got null'],
    ['{}', 'expected a JSON object, got "{}"'],
  ])('rejects %j with a message naming the key', (data, fragment) => {
    const error = parseError(data);
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message.startsWith(`${CONFIG_FILE_NAME}: `)).toBe(true);
    expect(error.message).toContain(fragment);
    expect(error.message).not.toContain('\n');
  });

  it('reports the first problem and counts the others; all are in details', () => {
    const error = parseError({ maxConcurrency: 'x', include: 1, timeout: 'y' });
    expect(error.message).toMatch(/\(and 2 more\)$/);
    expect(error.details?.problems).toHaveLength(3);
  });

  it('accepts a timeout in milliseconds as a number and rounds it', () => {
    expect(parseConfig({ timeout: 1500.4 }).timeoutMs).toBe(1500);
  });

  it('reads reuse, keepPaths, maxIdle, ports and share, with their defaults', () => {
    const config = parseConfig({
      reuse: true,
      keepPaths: ['node_modules/', 'packages/a/.venv'],
      maxIdle: 2,
      ports: { count: 4 },
      share: [{ path: 'node_modules', mode: 'clone' }],
    });
    expect(config).toMatchObject({
      reuse: true,
      keepPaths: ['node_modules', 'packages/a/.venv'],
      maxIdle: 2,
      ports: { base: 20000, count: 4 },
      share: [{ path: 'node_modules', mode: 'clone' }],
    });
  });

  it.each([
    [{ keepPaths: ['/abs'] }, 'keepPaths[0]: "/abs" is absolute'],
    [{ keepPaths: ['../up'] }, 'keepPaths[0]: "../up" leaves the repository'],
    [{ keepPaths: ['node_*'] }, 'keepPaths[0]: "node_*" contains a pattern character'],
    [{ ports: { base: 80 } }, 'ports.base: expected a port number of at least 1024, got 80'],
    [{ ports: { base: 65530, count: 10 } }, 'ports: ports 65530..65539 go beyond 65535'],
    [{ ports: { count: 0 } }, 'ports.count: expected a positive integer, got 0'],
    [{ share: [{ path: 'node_modules', mode: 'hardlink' }] }, 'share[0].mode: expected "clone" or "symlink"'],
  ])('refuses %j', (data, message) => {
    expect(parseError(data).message).toContain(message);
  });

  it('refuses a symlinked share together with setup: every setup would write into the main checkout', () => {
    const error = parseError({ setup: [['npm', 'ci']], share: [{ path: 'node_modules', mode: 'symlink' }] });
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain('"node_modules" is linked (mode "symlink") while setup runs commands');
    expect(parseConfig({ share: [{ path: 'node_modules', mode: 'symlink' }] }).share).toHaveLength(1);
  });
});

describe('helpers', () => {
  it('parses --concurrency within 1..64 and names the option otherwise', () => {
    expect(parseConcurrency('8')).toBe(8);
    for (const bad of ['0', '65', '-1', '2.5', 'four', '']) {
      let caught: unknown;
      try {
        parseConcurrency(bad);
      } catch (error) {
        caught = error;
      }
      expect(caught, bad).toBeInstanceOf(MiyabiError);
      expect((caught as MiyabiError).code).toBe('INVALID_ARGUMENT');
      expect((caught as MiyabiError).message).toContain('--concurrency');
    }
  });

  it('expands {issue} in branch patterns', () => {
    expect(expandBranchPattern(DEFAULT_BRANCH_PATTERN, 42)).toBe('feature/issue-42');
    expect(expandBranchPattern('{issue}/{issue}', 3)).toBe('3/3');
  });

  it('accepts plausible branch names and names the problem of the others', () => {
    for (const good of ['main', 'feature/issue-1', 'origin/main', 'release-1.2', 'ユーザー/機能']) {
      expect(branchNameProblem(good), good).toBeUndefined();
    }
    for (const bad of [
      '',
      'a b',
      'a..b',
      '-x',
      '/x',
      'x/',
      'x.',
      'a//b',
      'a@{1}',
      '@',
      '.hidden',
      'a/.b',
      'x.lock',
      'a:b',
      'a~1',
      'a^',
      'a?',
      'a*',
      'a[',
      'a\\b',
      'a\tb',
    ]) {
      expect(branchNameProblem(bad), bad).toBeTypeOf('string');
    }
  });

  it('locates JSON syntax errors V8 reports without a position', async () => {
    expect(await locateJsonError('{"a": }')).toEqual({ offset: 6, reason: 'expected a value' });
    expect(await locateJsonError('{"a": 1 "b": 2}')).toEqual({
      offset: 8,
      reason: "expected ',' between items",
    });
    expect(await locateJsonError('{a: 1}')).toEqual({ offset: 1, reason: 'unexpected character "a"' });
    expect(await locateJsonError('["a\\x"]')).toEqual({ offset: 1, reason: 'bad escape sequence in string' });
    expect(await locateJsonError('{"a": "b\n"}')).toEqual({ offset: 6, reason: 'unterminated string' });
    expect(await locateJsonError('{} []')).toEqual({
      offset: 3,
      reason: 'unexpected text after the JSON value',
    });
    expect(await locateJsonError('[1, 2')).toEqual({ offset: 5, reason: 'unexpected end of file' });
    expect(await locateJsonError('{"a": tru}')).toEqual({ offset: 6, reason: 'unexpected character "t"' });
    expect(await locateJsonError('{"a": 1,}')).toEqual({ offset: 8, reason: "trailing comma before '}'" });
    expect(await locateJsonError('{"a": 1}')).toBeUndefined();
  });
});
