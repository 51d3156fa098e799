import type { MiyabiConfig } from '../config/config-types.js';
import { describe } from '../core/describe.js';
import { MiyabiError } from '../errors.js';
import { type CheckSpec, resolveCheck } from '../process/check-command.js';
import type { CheckFailPolicy, PoolConfig } from './types.js';

/**
 * The pool's landing settings: `check` (given, else the configuration's when the batch merges or
 * opens pull requests; with queue too: the landing runs at the submitter), `onCheckFail`, `allowRedBase`.
 */
export function resolveLanding(
  config: PoolConfig,
  file: MiyabiConfig,
): { check: CheckSpec | undefined; onCheckFail: CheckFailPolicy; allowRedBase: boolean } {
  const lands = config.merge !== undefined || config.push !== undefined || config.pullRequest !== undefined;
  if (config.check !== undefined && !lands) {
    throw new MiyabiError('INVALID_ARGUMENT', 'check needs merge, push or pullRequest: it gates a landing', {
      hint: 'Pass merge: {} as well (or check the worktree yourself with landWorktree(id, { check })).',
      details: { option: 'check' },
    });
  }
  const given = resolveCheck(config.check);
  const check = given ?? (lands ? resolveCheck(file.check, 'config check') : undefined);
  if (config.allowRedBase !== undefined && typeof config.allowRedBase !== 'boolean') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `allowRedBase must be true or false, got ${describe(config.allowRedBase)}`,
    );
  }
  return {
    check,
    onCheckFail: checkFailPolicy(config.onCheckFail),
    allowRedBase: config.allowRedBase ?? false,
  };
}

function checkFailPolicy(policy: CheckFailPolicy | undefined): CheckFailPolicy {
  if (policy === undefined || policy === 'keep' || policy === 'remove') return policy ?? 'keep';
  const attempts = typeof policy === 'object' && policy !== null ? (policy.attempts ?? 1) : undefined;
  if (
    typeof policy !== 'object' ||
    policy === null ||
    typeof policy.fix !== 'function' ||
    typeof attempts !== 'number' ||
    !Number.isSafeInteger(attempts) ||
    attempts < 1
  ) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `onCheckFail must be 'keep', 'remove' or { fix: executor, attempts: 1 or more }, got ${describe(policy)}`,
    );
  }
  return policy;
}
