/**
 * Variables that make git work on another repository, index, object store or worktree than the one
 * its working directory names. Git sets several of them for hooks (`GIT_DIR`, `GIT_INDEX_FILE`), so a
 * caller started from a hook would otherwise point every git call and every task at its own checkout.
 * The list is git's `local_repo_env` (`git rev-parse --local-env-vars`) without the caller's `-c`
 * settings (`GIT_CONFIG*`: configuration, not a location), plus `GIT_NAMESPACE` and
 * `GIT_CEILING_DIRECTORIES`, which change which refs and which repository a lookup finds.
 */
export const REPOSITORY_ENV_VARS: readonly string[] = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_GRAFT_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_SHALLOW_FILE',
  'GIT_PREFIX',
  'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_NAMESPACE',
  'GIT_CEILING_DIRECTORIES',
];

const REPOSITORY_ENV = new Set(REPOSITORY_ENV_VARS);

/** A copy of `env` (default: this process's) without the variables that redirect git. */
export function withoutRepositoryEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !REPOSITORY_ENV.has(key)) out[key] = value;
  }
  return out;
}
