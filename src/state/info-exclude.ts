import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { MiyabiError } from '../errors.js';

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
  const rel = relativeInside(root, worktreeDir);
  if (rel === undefined) return null;
  const line = excludeLine(rel);
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

/** `worktreeDir` relative to `root` with `/` separators, or undefined when it lies outside. */
export function relativeInside(root: string, worktreeDir: string): string | undefined {
  const rel = relative(root, worktreeDir);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

// Characters gitignore gives a meaning: globs, escapes, negation, comments.
const GITIGNORE_SPECIAL = /[*?[\]\\!#]/g;

/**
 * The anchored exclude pattern that matches exactly the folder `rel` (`/`-separated, relative to
 * the root): `/<rel>/` with every gitignore special character escaped, so `w*` never hides `wxyz/`.
 * @throws MiyabiError `INVALID_ARGUMENT` for control characters (a newline would write two patterns).
 */
export function excludeLine(rel: string): string {
  assertNoControlCharacters(rel, 'worktreeDir');
  // Trailing spaces of a segment are kept by git only when escaped; escaping them all is harmless.
  const escaped = rel.replace(GITIGNORE_SPECIAL, (c) => `\\${c}`).replace(/ /g, '\\ ');
  return `/${escaped}/`;
}

/** Refuses control characters (newline, tab, escape...) in a path that ends up in a git file. */
export function assertNoControlCharacters(value: string, name: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds.
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${name} ${JSON.stringify(value)} contains a control character`,
      {
        hint: `Choose a ${name} without newlines, tabs or other control characters.`,
        details: { [name]: value },
      },
    );
  }
}
