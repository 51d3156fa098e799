/**
 * Why `name` is not a usable branch name, or `undefined` when it is plausible. A subset of
 * `git check-ref-format --branch` that needs no git call: no whitespace or control characters, none
 * of `~ ^ : ? * [ \`, no `..`, `@{` or `//`, not starting with `-` or `/`, no component starting
 * with `.` or ending with `.lock`, not ending with `/` or `.`, not `@` or `HEAD`.
 */
export function branchNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `is not a string (${name === null ? 'null' : typeof name})`;
  if (name.trim() === '') return 'is empty';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject.
  if (/[\s\x00-\x1f\x7f]/.test(name)) return 'contains whitespace or a control character';
  if (/[~^:?*[\\]/.test(name)) return 'contains one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.includes('//')) return 'contains "//"';
  if (name.startsWith('-')) return 'starts with "-"';
  if (name.startsWith('/') || name.endsWith('/')) return 'starts or ends with "/"';
  if (name.endsWith('.')) return 'ends with "."';
  if (name === '@' || name === 'HEAD') return 'is reserved';
  if (name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'))) {
    return 'has a path component starting with "." or ending with ".lock"';
  }
  return undefined;
}

/**
 * Characters a branch name this tool makes from a pattern may hold: safe unquoted in a shell and in
 * a path, so `{branch}` in a task's `sh -c` can never run anything.
 */
export const GENERATED_BRANCH_CHARACTERS = /^[A-Za-z0-9._/-]+$/;

/** Why `pattern` cannot name the branches of issues, or `undefined` when it can. */
export function branchPatternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return `is not a string (${pattern === null ? 'null' : typeof pattern})`;
  const unknownPlaceholder = /\{(?!issue\}|variant\})[^}]*\}/.exec(pattern);
  if (unknownPlaceholder)
    return `has an unknown placeholder ${unknownPlaceholder[0]} (only {issue} and {variant} are supported)`;
  if (!pattern.includes('{issue}')) return 'must contain {issue}, e.g. "feature/issue-{issue}"';
  const name = pattern.replaceAll('{issue}', '123').replaceAll('{variant}', '2');
  if (!GENERATED_BRANCH_CHARACTERS.test(name))
    return 'may only use letters, digits, ".", "_", "/", "-", {issue} and {variant}';
  const problem = branchNameProblem(name);
  return problem ? `gives "${name}", which ${problem}` : undefined;
}
