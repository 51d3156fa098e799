import { runGit } from '../git/run-git.js';

/**
 * The tip commit of each of `branches` (short names) that exists, read with one `git for-each-ref`
 * however many there are: the radar's cheap poll of which task branches moved.
 */
export async function readBranchTips(
  cwd: string,
  branches: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const tips = new Map<string, string>();
  if (branches.length === 0) return tips;
  const refs = branches.map((branch) => `refs/heads/${branch}`);
  const { stdout } = await runGit(['for-each-ref', '--format=%(objectname) %(refname)', '--', ...refs], {
    cwd,
    signal,
  });
  const wanted = new Set(refs);
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const ref = line.slice(space + 1);
    // A pattern also matches refs below it (`feature/issue-1/x`): keep exact names only.
    if (wanted.has(ref)) tips.set(ref.slice('refs/heads/'.length), line.slice(0, space));
  }
  return tips;
}
