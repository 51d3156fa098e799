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

/**
 * Adds `/<path>` (no trailing slash) to `<common dir>/info/exclude` for each symlinked share, so that
 * git ignores the link in every worktree (`node_modules/` in .gitignore matches folders, not links)
 * and removal neither archives it nor follows it. Idempotent; appends are whole lines.
 */
export async function ensureExcludedLinks(commonDir: string, paths: readonly string[]): Promise<void> {
  const file = join(commonDir, 'info', 'exclude');
  const current = await readFile(file, 'utf8').catch(() => '');
  const lines = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = paths.map((path) => `/${path}`).filter((line) => !lines.has(line));
  if (missing.length === 0) return;
  await mkdir(dirname(file), { recursive: true });
  const prefix = current === '' || current.endsWith('\n') ? '' : '\n';
  await appendFile(file, `${prefix}# miyabi-worktree shared links\n${missing.join('\n')}\n`);
}
