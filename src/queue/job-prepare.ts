import { MiyabiError } from '../errors.js';
import { resolvePrepareSettings } from '../setup/prepare-settings.js';
import type { PrepareSettings } from '../setup/prepare-worktree.js';
import { loadConfigAtCommit } from './config-at-commit.js';
import type { QueueJobPayload } from './payload.js';

/**
 * How a job's worktree is prepared: the configuration committed at the job's base (not the clone's
 * checkout), the submitter's `prepare` option on top. With `allow`, a setup program outside it is
 * `COMMAND_NOT_ALLOWED` before anything runs.
 */
export async function jobPrepareSettings(
  repo: string,
  payload: QueueJobPayload,
  allow: readonly string[] | undefined,
  signal?: AbortSignal,
): Promise<Required<PrepareSettings>> {
  const { config } = await loadConfigAtCommit(repo, payload.baseSha, signal);
  const prepare = resolvePrepareSettings(config, payload.prepare);
  for (const argv of prepare.setup) refuseOutsideAllow(argv[0] ?? '', allow, 'setup command');
  return prepare;
}

/** `COMMAND_NOT_ALLOWED` for a program `allow` does not list (any program without `allow`). */
export function refuseOutsideAllow(
  program: string,
  allow: readonly string[] | undefined,
  what: string,
): void {
  if (!allow || allow.includes(program)) return;
  throw new MiyabiError(
    'COMMAND_NOT_ALLOWED',
    `this worker does not run ${what} '${program}' (allowed: ${allow.join(', ') || 'nothing'})`,
    { hint: 'Start the worker with --allow naming it, or leave it out of the command and setup.' },
  );
}
