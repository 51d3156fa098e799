import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createTempRepo } from './helpers/temp-repo.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The ```js blocks of the README's Library section, as written. */
function libraryExamples(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## Library');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

describe("the README's library examples", () => {
  const examples = libraryExamples();

  it('are there', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples.map((code, index) => [index + 1, code] as const))(
    'example %i runs as written in a fresh repository with a remote',
    async (index, code) => {
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
