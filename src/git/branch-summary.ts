import { runGit } from './run-git.js';

export interface BranchSummary {
  /** Commits on `head` that `base` lacks, oldest first. */
  readonly commits: { readonly sha: string; readonly subject: string }[];
  /** Paths the branch changed since it left `base`. */
  readonly filesChanged: string[];
}

/** What a branch adds to its base, for a pull request's body: its commits and changed files. */
export async function branchSummary(options: {
  readonly cwd: string;
  readonly base: string;
  readonly head: string;
  readonly signal?: AbortSignal;
}): Promise<BranchSummary> {
  const range = `${options.base}..${options.head}`;
  const log = await runGit(['log', '--reverse', '-z', '--format=%H%x00%s', range, '--'], {
    cwd: options.cwd,
    signal: options.signal,
  });
  // -z ends each commit with a NUL, and %x00 splits hash from subject: fields come in pairs.
  const fields = log.stdout.split('\0').map((field) => field.replace(/^\n/, ''));
  const commits: { sha: string; subject: string }[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const sha = fields[i] ?? '';
    if (/^[0-9a-f]{40,64}$/.test(sha)) commits.push({ sha, subject: fields[i + 1] ?? '' });
  }
  const diff = await runGit(['diff', '--name-only', '-z', `${options.base}...${options.head}`, '--'], {
    cwd: options.cwd,
    signal: options.signal,
  });
  const filesChanged = diff.stdout.split('\0').filter((path) => path !== '');
  return { commits, filesChanged };
}
