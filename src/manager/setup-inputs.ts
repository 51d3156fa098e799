/** Files whose change makes the setup run again on a landing candidate (config `setupInputs`). */
export const DEFAULT_SETUP_INPUTS: readonly string[] = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'pnpm-lock.yaml',
  'yarn.lock',
  'bun.lockb',
  'Cargo.lock',
  'poetry.lock',
  'uv.lock',
  'requirements*.txt',
  'go.sum',
  'Gemfile.lock',
];

/**
 * Whether a changed path is a setup input: a pattern with a `/` matches the whole path, one without
 * matches the file name in any folder; `*` matches within one name.
 */
export function matchesSetupInput(path: string, patterns: readonly string[]): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return patterns.some((pattern) => globOf(pattern).test(pattern.includes('/') ? path : name));
}

function globOf(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${body}$`);
}
