import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MiyabiError, runCommand } from '../src/index.js';
import { liveProcessGroupCount } from '../src/process/process-groups.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until a pid file written by a child exists, then reads it. */
async function readPid(file: string): Promise<number> {
  for (let i = 0; i < 200 && !existsSync(file); i++) await sleep(25);
  return Number(readFileSync(file, 'utf8').trim());
}

/** Waits (bounded) for a pid to disappear: killed processes may linger a moment as zombies. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (!alive(pid)) return true;
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    if (/^\d+ \(.*\) Z/.test(stat)) return true;
    await sleep(25);
  }
  return false;
}

describe('runCommand', () => {
  it('returns exit code, tail and duration, and merges the environment', async () => {
    const cwd = tempDir();
    const result = await runCommand(['sh', '-c', 'echo "$GREETING in $(pwd)"; echo oops >&2; exit 3'], {
      cwd,
      env: { GREETING: 'hello', HOME: undefined },
    });
    expect(result).toMatchObject({ exitCode: 3, signal: null, ok: false, timedOut: false, aborted: false });
    expect(result.tail).toContain(`hello in ${cwd}`);
    expect(result.tail).toContain('oops');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a JS template
    const noHome = await runCommand(['sh', '-c', 'echo "home=${HOME:-unset}"'], {
      cwd,
      env: { HOME: undefined },
    });
    expect(noHome.tail.trim()).toBe('home=unset');
    expect(noHome.ok).toBe(true);
  });

  it('writes output to a file and reports lines as they come', async () => {
    const cwd = tempDir();
    const file = join(cwd, 'logs', 'task.log');
    const lines: string[] = [];
    const result = await runCommand(['sh', '-c', 'echo one; echo two >&2; printf three'], {
      cwd,
      output: { file },
      onLine: (line) => lines.push(line),
    });
    expect(result.outputFile).toBe(file);
    // The streams interleave in arrival order; each line arrives whole.
    expect(readFileSync(file, 'utf8')).toContain('one\n');
    expect(readFileSync(file, 'utf8')).toContain('two\n');
    expect(readFileSync(file, 'utf8')).toContain('three');
    expect(lines.sort()).toEqual(['one', 'three', 'two']);
  });

  it('keeps memory bounded on huge output', async () => {
    const cwd = tempDir();
    const result = await runCommand(['sh', '-c', 'yes 0123456789 | head -c 20000000; echo; echo last-line'], {
      cwd,
      output: { tailBytes: 4096 },
    });
    expect(result.ok).toBe(true);
    expect(result.tail.length).toBeLessThanOrEqual(8192);
    expect(result.tail.trim().endsWith('last-line')).toBe(true);
  });

  it('kills the command and its background grandchild on timeout', async () => {
    const cwd = tempDir();
    const pidFile = join(cwd, 'grandchild.pid');
    const result = await runCommand(['sh', '-c', `sleep 100 & echo $! > ${pidFile}; wait`], {
      cwd,
      timeoutMs: 300,
    });
    const grandchild = await readPid(pidFile);
    expect(result).toMatchObject({ timedOut: true, aborted: false, ok: false });
    expect(await gone(grandchild)).toBe(true);
    expect(liveProcessGroupCount()).toBe(0);
  });

  it('escalates to SIGKILL when the process ignores SIGTERM', async () => {
    const cwd = tempDir();
    const controller = new AbortController();
    const pending = runCommand(['sh', '-c', "trap '' TERM; echo ready; while :; do sleep 0.05; done"], {
      cwd,
      signal: controller.signal,
      graceMs: 200,
      onLine: (line) => line === 'ready' && controller.abort(),
    });
    const result = await pending;
    expect(result).toMatchObject({ aborted: true, timedOut: false, signal: 'SIGKILL' });
  });

  it('does not hang when a grandchild keeps the output pipe open', async () => {
    const cwd = tempDir();
    const pidFile = join(cwd, 'bg.pid');
    const result = await runCommand(
      ['sh', '-c', `(sleep 100; echo late) & echo $! > ${pidFile}; echo main done`],
      {
        cwd,
      },
    );
    expect(result.ok).toBe(true);
    expect(result.tail).toContain('main done');
    // killGroupOnExit: the leftover background process was terminated too.
    expect(await gone(await readPid(pidFile))).toBe(true);
  });

  it('can leave background children alive when asked', async () => {
    const cwd = tempDir();
    const pidFile = join(cwd, 'bg.pid');
    const result = await runCommand(['sh', '-c', `sleep 30 >/dev/null 2>&1 & echo $! > ${pidFile}`], {
      cwd,
      killGroupOnExit: false,
    });
    const pid = await readPid(pidFile);
    try {
      expect(result.ok).toBe(true);
      expect(alive(pid)).toBe(true);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  it("runs git in the command against cwd's repository, not one an inherited GIT_DIR names", async () => {
    const repo = createTempRepo();
    const other = createTempRepo();
    const before = { repo: repo.git('rev-parse', 'HEAD'), other: other.git('rev-parse', 'HEAD') };
    // What git sets for a hook: a `run` started from one must not commit into the hook's repository.
    process.env.GIT_DIR = `${other.path}/.git`;
    process.env.GIT_INDEX_FILE = `${other.path}/.git/index`;
    try {
      const result = await runCommand(['git', 'commit', '-q', '--allow-empty', '-m', 'task'], {
        cwd: repo.path,
      });
      expect(result.ok).toBe(true);
      const redirected = await runCommand(['git', 'rev-parse', '--absolute-git-dir'], {
        cwd: repo.path,
        env: { GIT_DIR: `${other.path}/.git` },
      });
      expect(redirected.tail.trim()).toBe(`${other.path}/.git`);
    } finally {
      delete process.env.GIT_DIR;
      delete process.env.GIT_INDEX_FILE;
    }
    expect(other.git('rev-parse', 'HEAD')).toBe(before.other);
    expect(repo.git('rev-parse', 'HEAD^')).toBe(before.repo);
    expect(repo.git('log', '-1', '--format=%s')).toBe('task');
  });

  it('rejects a missing command, an aborted signal and bad options with coded errors', async () => {
    const cwd = tempDir();
    await expect(runCommand(['definitely-not-a-command-xyz'], { cwd })).rejects.toMatchObject({
      code: 'COMMAND_NOT_FOUND',
      message: 'command not found: definitely-not-a-command-xyz',
    });
    await expect(runCommand(['true'], { cwd, signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'CANCELLED',
    });
    for (const [argv, options, word] of [
      [[], { cwd }, 'argv'],
      [['true'], { cwd: 'relative/path' }, 'cwd'],
      [['true'], { cwd: join(cwd, 'missing') }, 'cwd'],
      [['true'], { cwd, timeoutMs: 0 }, 'timeoutMs'],
      [['true'], { cwd, timeoutMs: Number.NaN }, 'timeoutMs'],
    ] as const) {
      const error = await runCommand(argv as unknown as string[], options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MiyabiError);
      expect((error as MiyabiError).code).toBe('INVALID_ARGUMENT');
      expect((error as MiyabiError).message).toContain(word);
    }
  });
});
