import { runGit } from '../git/run-git.js';

/**
 * Paths a branch changed since `base` (`git diff --name-only base...tip`), sorted. Renames count as
 * both paths (`--no-renames`), so two branches touching one file always share a path.
 */
export async function changedFiles(
  cwd: string,
  base: string,
  tip: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const { stdout } = await runGit(['diff', '--name-only', '--no-renames', '-z', `${base}...${tip}`, '--'], {
    cwd,
    signal,
  });
  return stdout
    .split('\0')
    .filter((path) => path !== '')
    .sort();
}

/** Paths in both sorted lists. */
export function sharedPaths(a: readonly string[], b: readonly string[]): string[] {
  const inB = new Set(b);
  return a.filter((path) => inB.has(path));
}

/**
 * True when one list holds a folder of a path in the other (`docs` beside `docs/a.md`): a
 * file/directory conflict that no shared path reveals.
 */
export function nestedPaths(a: readonly string[], b: readonly string[]): boolean {
  const inA = new Set(a);
  const inB = new Set(b);
  const under = (paths: readonly string[], others: ReadonlySet<string>) =>
    paths.some((path) => {
      for (let at = path.lastIndexOf('/'); at > 0; at = path.lastIndexOf('/', at - 1)) {
        if (others.has(path.slice(0, at))) return true;
      }
      return false;
    });
  return under(a, inB) || under(b, inA);
}
