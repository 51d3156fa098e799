import type { MiyabiConfig } from '../config/config-types.js';
import { normaliseRelativePath, relativePathProblem } from '../config/relative-path.js';
import { describe } from '../core/describe.js';
import { MiyabiError } from '../errors.js';
import type { PrepareSettings } from './prepare-worktree.js';

/**
 * `given` on top of the configuration's `include`, `setup` and `setupTimeoutMs`, checked: a wrong
 * type is `INVALID_ARGUMENT` naming `option` (e.g. `prepare.setup`) before anything starts.
 */
export function resolvePrepareSettings(
  config: MiyabiConfig,
  given: PrepareSettings | undefined,
  option = 'prepare',
): Required<PrepareSettings> {
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw invalid(
      `${option} must be an object like { include, setup, setupTimeoutMs }, got ${describe(given)}`,
    );
  }
  const include = given?.include ?? config.include;
  const setup = given?.setup ?? config.setup;
  const setupTimeoutMs = given?.setupTimeoutMs ?? config.setupTimeoutMs;
  const share = given?.share ?? config.share;
  if (
    !Array.isArray(share) ||
    !share.every(
      (entry) =>
        typeof entry === 'object' &&
        entry !== null &&
        relativePathProblem(entry.path) === undefined &&
        (entry.mode === 'clone' || entry.mode === 'symlink'),
    )
  ) {
    throw invalid(
      `${option}.share must be an array like [{ path: 'node_modules', mode: 'clone' }] of relative paths, got ${describe(share)}`,
    );
  }
  const linked = share.filter((entry) => entry.mode === 'symlink').map((entry) => entry.path);
  if (linked.length > 0 && setup.length > 0) {
    // Every task's install would write through the link into the main checkout, all at once.
    throw new MiyabiError(
      'INVALID_CONFIG',
      `share: "${linked.join('", "')}" is linked (mode "symlink") while setup runs commands: every task's setup would write through the link into the main checkout at once`,
      { hint: 'Use mode "clone" (a copy each worktree owns), or drop setup.' },
    );
  }
  if (typeof include !== 'boolean')
    throw invalid(`${option}.include must be true or false, got ${describe(include)}`);
  const isArgv = (argv: unknown) =>
    Array.isArray(argv) && argv.length > 0 && argv.every((part) => typeof part === 'string' && part !== '');
  if (!Array.isArray(setup) || !setup.every(isArgv)) {
    throw invalid(
      `${option}.setup must be an array of commands like [["npm", "ci"]], got ${describe(setup)}`,
    );
  }
  if (typeof setupTimeoutMs !== 'number' || !Number.isFinite(setupTimeoutMs) || setupTimeoutMs <= 0) {
    throw invalid(
      `${option}.setupTimeoutMs must be a positive number of milliseconds, got ${describe(setupTimeoutMs)}`,
    );
  }
  return {
    include,
    setup,
    setupTimeoutMs,
    share: share.map((entry) => ({ path: normaliseRelativePath(entry.path), mode: entry.mode })),
  };
}

function invalid(message: string): MiyabiError {
  return new MiyabiError('INVALID_ARGUMENT', message, {
    hint: 'Leave it out to use the configuration file (include, setup, setupTimeout).',
  });
}
