import { runGit } from '../git/run-git.js';

/** Commits a branch has that its base lacks (`ahead`), and the other way round (`behind`). */
export interface BranchDistance {
  readonly ahead: number;
  readonly behind: number;
}

/** `git rev-list --left-right --count base...branch`; undefined when either is missing. */
export async function branchDistance(
  cwd: string,
  base: string,
  branch: string,
  signal?: AbortSignal,
): Promise<BranchDistance | undefined> {
  const result = await runGit(['rev-list', '--left-right', '--count', `${base}...${branch}`, '--'], {
    cwd,
    signal,
    okExitCodes: [0, 128],
  });
  const [behind, ahead] = result.stdout.trim().split(/\s+/).map(Number);
  if (result.exitCode !== 0 || behind === undefined || ahead === undefined) return undefined;
  if (!Number.isSafeInteger(behind) || !Number.isSafeInteger(ahead)) return undefined;
  return { ahead, behind };
}

/**
 * Estimated bytes only the archives hold: objects they reach that no branch, tag or remote branch
 * does (`git rev-list --disk-usage`, git >= 2.38), as stored (compressed, maybe packed).
 */
export async function archiveDiskUsage(cwd: string, signal?: AbortSignal): Promise<number> {
  const result = await runGit(
    [
      'rev-list',
      '--objects',
      '--disk-usage',
      '--glob=refs/miyabi/archive/*',
      '--not',
      '--branches',
      '--tags',
      '--remotes',
    ],
    { cwd, signal },
  );
  const bytes = Number(result.stdout.trim());
  return Number.isSafeInteger(bytes) ? bytes : 0;
}
