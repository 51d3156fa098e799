import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeBranch } from '../src/git/merge.js';
import { forceStopProcessGroups } from '../src/process/forced-stop.js';
import { processGroup } from '../src/process/terminate.js';
import { eventually } from './helpers/cli-process.js';
import { createTempRepo, tempDir } from './helpers/temp-repo.js';

// One test per file: a forced stop refuses new processes for the rest of the process's life.
describe.skipIf(process.platform === 'win32')(
  'a forced stop during a merge into the checked-out branch',
  () => {
    it('waits (bounded) for git in the user checkout, and its repair advice finishes the update keeping their changes', async () => {
      const repo = createTempRepo({
        files: {
          '.gitattributes': '*.hold filter=hold\n',
          'a.txt': 'a1\n',
          'c.txt': 'c\n',
          'mine.txt': 'm1\n',
          'z.hold': 'z1\n',
        },
      });
      const old = repo.git('rev-parse', 'HEAD');
      repo.git('checkout', '-q', '-b', 'feature');
      repo.git('rm', '-q', 'c.txt');
      const next = repo.commit({ 'a.txt': 'a2\n', 'b.txt': 'b2\n', 'z.hold': 'z2\n' }, 'feature');
      repo.git('checkout', '-q', 'main');
      // The user's own work in the checkout, in files the merge does not touch.
      repo.write('mine.txt', 'my change\n');
      repo.write('u.txt', 'untracked\n');
      // Holds git midway through writing the checkout: a.txt and b.txt written, z.hold not yet.
      const dir = tempDir();
      const gate = join(dir, 'gate');
      execFileSync('mkfifo', [gate]);
      repo.git('config', 'filter.hold.smudge', `touch '${dir}/started'; read x < '${gate}'; cat`);
      const merge = mergeBranch({
        root: repo.path,
        source: 'feature',
        into: 'main',
        withLock: (fn) => fn(),
      }).catch((error: unknown) => error);
      expect(await eventually(() => existsSync(join(dir, 'started')))).toBe(true);

      let waitedFor: string[] = [];
      let aliveWhileWaiting = false;
      const result = await forceStopProcessGroups({
        protectedWaitMs: 300,
        onWait: (runs) => {
          waitedFor = runs.map((run) => run.path);
          aliveWhileWaiting = runs.every((run) => processGroup(run.pid).alive());
        },
      });
      expect(waitedFor).toEqual([repo.path]);
      expect(aliveWhileWaiting).toBe(true);
      expect(result.finished).toEqual([]);
      const [interrupted] = result.interrupted;
      expect(interrupted?.path).toBe(repo.path);
      expect(processGroup(interrupted?.pid ?? 0).alive()).toBe(false);
      expect(await merge).toMatchObject({ code: 'GIT_FAILED' });
      // Left mid-update: the branch did not move, a.txt already has the new content.
      expect(repo.git('rev-parse', 'main')).toBe(old);
      expect(readFileSync(join(repo.path, 'a.txt'), 'utf8')).toBe('a2\n');

      // The advice, pasted into a shell (without the test's holding filter), finishes the update.
      repo.git('config', '--unset', 'filter.hold.smudge');
      const commands = (interrupted?.repair ?? '')
        .split('\n')
        .filter((line) => line.startsWith('  '))
        .join('\n');
      expect(commands).not.toContain('reset --hard');
      execFileSync('sh', ['-ec', commands]);
      expect(repo.git('rev-parse', 'main')).toBe(next);
      expect(repo.git('diff', '--name-only')).toBe('mine.txt');
      expect(repo.git('diff', '--cached', '--name-only', 'HEAD')).toBe('');
      expect(repo.git('ls-files', '--others', '--exclude-standard')).toBe('u.txt');
      expect(readFileSync(join(repo.path, 'mine.txt'), 'utf8')).toBe('my change\n');
      expect(existsSync(join(repo.path, 'c.txt'))).toBe(false);
      expect(readFileSync(join(repo.path, 'z.hold'), 'utf8')).toBe('z2\n');
    });
  },
);
