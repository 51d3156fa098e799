import { isAbsolute, normalize } from 'node:path';

/**
 * Why `path` is not a plain path inside the repository (relative, no `..`, no glob or pattern
 * characters that `git clean -e` would read as a pattern), or undefined when it is one.
 */
export function relativePathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path.trim() === '') return 'is not a non-empty string';
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path))
    return 'is absolute (give it relative to the repository root)';
  const normal = normalize(path).replace(/\/+$/, '');
  if (normal === '.' || normal === '' || normal === '..' || normal.startsWith('../')) {
    return 'leaves the repository (or names its root)';
  }
  if (/[*?[\]!\\#\n]/.test(path)) return 'contains a pattern character (* ? [ ] ! \\ #)';
  if (normal.split('/').includes('.git')) return "is inside git's own folder";
  return undefined;
}

/** `path` as git and `path.join` want it: normalised, no trailing slash. */
export function normaliseRelativePath(path: string): string {
  return normalize(path).replace(/\/+$/, '');
}
