import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Set by `.ci/run`: a test whose binary is missing fails instead of skipping. */
export const REQUIRE_BINARIES_VARIABLE = 'MIYABI_REQUIRE_TEST_BINARIES';

/** The absolute path of `name` on PATH (or one of `candidates`), or undefined. */
export function findBinary(name: string, candidates: readonly string[] = []): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const path of [...candidates, ...dirs.map((dir) => join(dir, name))]) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here: try the next one
    }
  }
  return undefined;
}

/**
 * Finds a binary a test file needs. Missing: prints one clear line and returns undefined (the caller
 * uses `describe.skipIf(!bin)`), or throws when CI asked for every binary to be there. `aptPackage`:
 * the Debian package that installs it, when its name differs.
 */
export function requireBinary(
  name: string,
  why: string,
  candidates: readonly string[] = [],
  aptPackage = name,
): string | undefined {
  const found = findBinary(name, candidates);
  if (found) return found;
  const line = `skipping ${why}: '${name}' is not installed (apt-get install ${aptPackage})`;
  if (process.env[REQUIRE_BINARIES_VARIABLE] === '1') {
    throw new Error(`${line}, and ${REQUIRE_BINARIES_VARIABLE}=1 makes that a failure`);
  }
  console.warn(line);
  return undefined;
}
