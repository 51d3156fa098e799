import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

/**
 * Adds `worktreeDir` to `<common dir>/info/exclude` when it lies inside the main worktree, so the
 * worktrees never show up in the user's `git status`. Idempotent; the caller holds the repo lock.
 * Returns the line added, or null when none was needed.
 */
export async function ensureExcluded(
  root: string,
  commonDir: string,
  worktreeDir: string,
): Promise<string | null> {
  const rel = relative(root, worktreeDir);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return null;
  const line = `/${rel.split(sep).join('/')}/`;
  const file = join(commonDir, 'info', 'exclude');
  const current = await readFile(file, 'utf8').catch(() => '');
  const lines = current.split(/\r?\n/).map((l) => l.trim());
  if (lines.includes(line) || lines.includes(line.slice(0, -1)) || lines.includes(line.slice(1))) return null;
  await mkdir(dirname(file), { recursive: true });
  const prefix = current === '' || current.endsWith('\n') ? '' : '\n';
  await appendFile(file, `${prefix}# miyabi-worktree worktrees\n${line}\n`);
  return line;
}
