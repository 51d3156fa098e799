import { runGit } from '../git/run-git.js';

/** Whether merging two commits conflicts, and on which paths (sorted). */
export interface MergeCheck {
  readonly conflict: boolean;
  readonly paths: readonly string[];
}

/**
 * Merges each pair of commits in memory (`git merge-tree --write-tree --stdin`: one process for
 * all of them, no working tree, nothing written but unreferenced objects) and says which conflict.
 */
export async function checkMerges(
  cwd: string,
  pairs: readonly (readonly [string, string])[],
  signal?: AbortSignal,
): Promise<MergeCheck[]> {
  if (pairs.length === 0) return [];
  const { stdout } = await runGit(['merge-tree', '--stdin', '-z', '--name-only', '--no-messages'], {
    cwd,
    signal,
    input: pairs.map(([a, b]) => `${a} ${b}\n`).join(''),
    okExitCodes: [0, 1],
  });
  return parseMergeTreeStdin(stdout, pairs.length);
}

/**
 * Parses `merge-tree --stdin -z --name-only --no-messages` output: per merge, its status (`1`
 * clean, `0` conflicted), the tree id, the conflicted paths, then an empty field.
 */
export function parseMergeTreeStdin(stdout: string, count: number): MergeCheck[] {
  const fields = stdout.split('\0');
  const checks: MergeCheck[] = [];
  let at = 0;
  while (checks.length < count) {
    const status = fields[at];
    const tree = fields[at + 1];
    if ((status !== '0' && status !== '1') || tree === undefined || !/^[0-9a-f]{40,64}$/.test(tree)) {
      throw new Error(`unexpected git merge-tree --stdin output at merge ${checks.length + 1}`);
    }
    at += 2;
    const paths = new Set<string>();
    for (let field = fields[at]; field !== undefined && field !== ''; field = fields[++at]) paths.add(field);
    at++;
    checks.push({ conflict: status === '0', paths: [...paths].sort() });
  }
  return checks;
}
