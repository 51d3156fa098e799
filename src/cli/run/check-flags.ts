import { MiyabiError, OPTION_RANGES } from '../../index.js';
import { splitCommandLine } from '../../internal.js';
import { parseConcurrency } from '../parse-concurrency.js';
import { parseDurationFlag } from '../parse-duration-flag.js';

/** What `run`'s landing flags ask for. */
export interface CheckFlags {
  /** `--check "<command line>"`, split into argv (no shell). */
  readonly check?: readonly string[];
  readonly checkTimeoutMs?: number;
  /** `--check-batch N`: ready candidates checked together in one run. */
  readonly checkBatch?: number;
  readonly onCheckFail?: 'keep' | 'agent' | 'remove';
  readonly allowRedBase?: boolean;
}

/**
 * `--check`, `--check-timeout`, `--check-batch`, `--on-check-fail`, `--allow-red-base`: a check gates a landing, so
 * each needs `--merge`, `--push` or `--pr` (the configuration's `check` applies with those too);
 * handing a failing check back to the agent needs `--merge`.
 */
export function parseCheckFlags(options: Readonly<Record<string, unknown>>): CheckFlags {
  const lands = options.merge === true || options.push === true || options.pr === true;
  const given = (['check', 'checkTimeout', 'checkBatch', 'onCheckFail', 'allowRedBase'] as const).filter(
    (flag) => options[flag] !== undefined,
  );
  const first = given[0];
  if (first !== undefined && !lands) {
    const name = `--${first.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${name} only applies with --merge, --push or --pr: the check gates a landing`,
      {
        hint: `Add --merge, or land one kept worktree with 'miyabi-worktree land <issue> --check "<command>"'.`,
      },
    );
  }
  const onCheckFail = typeof options.onCheckFail === 'string' ? options.onCheckFail : undefined;
  if (onCheckFail !== undefined && !['keep', 'agent', 'remove'].includes(onCheckFail)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `--on-check-fail: "${onCheckFail}" is not one of keep, agent, remove`,
      {
        hint: 'keep (the default) leaves the worktree for you; agent hands the check log back to the command.',
      },
    );
  }
  if (onCheckFail === 'agent' && options.merge !== true) {
    throw new MiyabiError('INVALID_ARGUMENT', '--on-check-fail agent only applies with --merge', {
      hint: 'Add --merge, or drop --on-check-fail.',
    });
  }
  return {
    ...(typeof options.check === 'string' ? { check: splitCommandLine(options.check, '--check') } : {}),
    ...(typeof options.checkTimeout === 'string'
      ? { checkTimeoutMs: parseDurationFlag(options.checkTimeout, '--check-timeout') }
      : {}),
    ...(typeof options.checkBatch === 'string'
      ? { checkBatch: parseConcurrency(options.checkBatch, '--check-batch', OPTION_RANGES.checkBatch) }
      : {}),
    ...(onCheckFail !== undefined ? { onCheckFail: onCheckFail as CheckFlags['onCheckFail'] & string } : {}),
    ...(options.allowRedBase === true ? { allowRedBase: true } : {}),
  };
}
