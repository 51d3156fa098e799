// The limits and defaults of the numeric options, declared once: the configuration file's schema, the
// pool's and the manager's option checks and the CLI's help and parsers all read them from here.
import { totalmem } from 'node:os';
import { MiyabiError } from '../errors.js';
import { describe } from './describe.js';
import { checkSize, formatSize } from './size.js';

/** Task lifecycles (or active worktrees) at once when nothing says otherwise. @default 3 */
export const DEFAULT_CONCURRENCY = 3;
/** Upper bound of `maxConcurrency` (pool, manager, config file, `--concurrency`). @default 64 */
export const MAX_CONCURRENCY = 64;
/** Per-task time budget when nothing says otherwise: 30 minutes. @default 1_800_000 */
export const DEFAULT_TIMEOUT_MS = 1_800_000;
/** Longest duration any option accepts (`timeoutMs`, `timeout`, `--timeout`, …): 7 days; longer is almost surely a typo. @default 604_800_000 */
export const MAX_DURATION_MS = 7 * 24 * 60 * 60 * 1000;
/** Longest age an `olderThan` option (`cleanup`, `pruneArchives`, `--older-than`) accepts: ten years; longer is a typo. @default 315_360_000_000 */
export const MAX_AGE_MS = 3650 * 86_400_000;
/** How long an aborted executor may take to settle before its task is settled anyway. @default 5_000 */
export const DEFAULT_ABORT_GRACE_MS = 5_000;
/** Conflict radar interval when nothing says otherwise (`0` turns it off). @default 2_000 */
export const DEFAULT_RADAR_INTERVAL_MS = 2_000;
/** How often the radar runs `git status` in each live worktree to see uncommitted work (`0`: commits only). @default 10_000 */
export const DEFAULT_RADAR_STATUS_INTERVAL_MS = 10_000;
/** The most a batch waits out usage limits in all when nothing says otherwise: 6 hours. @default 21_600_000 */
export const DEFAULT_PAUSE_MAX_MS = 6 * 60 * 60 * 1000;
/** Batch log folders kept when nothing says otherwise. @default 50 */
export const DEFAULT_LOG_RETENTION = 50;
/** Upper bound of `logRetention`. @default 10_000 */
export const MAX_LOG_RETENTION = 10_000;
/** Upper bound of `maxIdle`: four idle worktrees per possible slot. @default 256 */
export const MAX_IDLE = MAX_CONCURRENCY * 4;

/** Landing candidates checked together in one run of the check (`check.batch`, `--check-batch`). @default 1 */
export const DEFAULT_CHECK_BATCH = 1;
/** Upper bound of `check.batch`: a failing batch finds its culprit in about log4(N) more rounds (three prefixes checked at once). @default 32 */
export const MAX_CHECK_BATCH = 32;

/** Smallest memory size `maxMemory` and `minFreeMemory` accept: 16 MiB (less is a typo or a unit mix-up). @default 16_777_216 */
export const MIN_MEMORY_BYTES = 16 * 1024 ** 2;
/** How often the memory sampler reads /proc (process tree and resident memory). @default 250 */
export const MEMORY_SAMPLE_INTERVAL_MS = 250;
/** How often at most the sampler scans every process's environment for a task's escapees. @default 2_000 */
export const MEMORY_ENVIRONMENT_SCAN_MS = 2_000;

/** The range a numeric option accepts. */
export interface OptionRange {
  readonly min: number;
  readonly max: number;
  /** Whole numbers only (else any finite number, e.g. milliseconds). */
  readonly integer: boolean;
  /** A memory size in bytes (written with a unit: `512M`, `4G`). */
  readonly size?: true;
}

/** Every range-checked numeric option of the pool, the manager and the configuration file. */
/** Most attempts one issue may get (`variants`). */
export const MAX_VARIANTS = 10;

export const OPTION_RANGES = {
  maxConcurrency: { min: 1, max: MAX_CONCURRENCY, integer: true },
  timeoutMs: { min: 1, max: MAX_DURATION_MS, integer: false },
  abortGraceMs: { min: 0, max: MAX_DURATION_MS, integer: false },
  radarIntervalMs: { min: 0, max: MAX_DURATION_MS, integer: false },
  radarStatusIntervalMs: { min: 0, max: MAX_DURATION_MS, integer: false },
  logRetention: { min: 1, max: MAX_LOG_RETENTION, integer: true },
  maxIdle: { min: 0, max: MAX_IDLE, integer: true },
  maxMemory: { min: MIN_MEMORY_BYTES, max: Number.MAX_SAFE_INTEGER, integer: true, size: true },
  // Above the machine's total memory the hold would never lift.
  minFreeMemory: { min: MIN_MEMORY_BYTES, max: totalmem(), integer: true, size: true },
  pauseMaxMs: { min: 0, max: MAX_DURATION_MS, integer: false },
  checkBatch: { min: 1, max: MAX_CHECK_BATCH, integer: true },
  // Well above the submitter's 1 s heartbeat, so that a live submitter never looks gone.
  orphanTimeoutMs: { min: 5_000, max: MAX_DURATION_MS, integer: false },
  // Attempts per issue: each is a whole agent run, so a handful is the useful range.
  variants: { min: 1, max: MAX_VARIANTS, integer: true },
  variantsStopAt: { min: 0, max: 100, integer: true },
} as const satisfies Record<string, OptionRange>;

export type RangedOption = keyof typeof OPTION_RANGES;

/** `an integer from 1 to 64`, `a number of milliseconds from 1 to 604800000`: one wording everywhere. */
export function rangeText(range: OptionRange): string {
  if (range.size) {
    const top =
      range.max >= Number.MAX_SAFE_INTEGER ? '' : ` to ${formatSize(range.max)} (this machine's memory)`;
    return `a size with a unit (e.g. 512M, 4G) from ${formatSize(range.min)}${top}`;
  }
  return `${range.integer ? 'an integer' : 'a number of milliseconds'} from ${range.min} to ${range.max}`;
}

/** True when `value` is a number within `range`. */
export function inRange(value: unknown, range: OptionRange): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!range.integer || Number.isSafeInteger(value)) &&
    value >= range.min &&
    value <= range.max
  );
}

/**
 * Checks a library option against its range.
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming the option, the range, the value and its type.
 */
export function assertOptionInRange(option: RangedOption, value: unknown): asserts value is number {
  const range: OptionRange = OPTION_RANGES[option];
  if (inRange(value, range)) return;
  throw new MiyabiError('INVALID_ARGUMENT', `${option} must be ${rangeText(range)}, got ${describe(value)}`, {
    hint: `Pass ${option}: a value from ${range.min} to ${range.max}, or leave it out for the default.`,
    details: { option },
  });
}

/**
 * Checks a memory-size option (`maxMemory`, `minFreeMemory`): bytes, or a text with a unit (`'4G'`);
 * undefined stays undefined (the option is off).
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming the option, the range and the value.
 */
export function sizeOption(option: 'maxMemory' | 'minFreeMemory', value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const range: OptionRange = OPTION_RANGES[option];
  const parsed = typeof value === 'string' ? checkSize(value) : undefined;
  if (parsed && !parsed.ok) {
    throw new MiyabiError('INVALID_ARGUMENT', `${option}: "${value}" ${parsed.problem}`, {
      hint: `Pass ${option}: '4G' (or a number of bytes), or leave it out.`,
      details: { option },
    });
  }
  const bytes = parsed?.ok ? parsed.bytes : value;
  if (inRange(bytes, range)) return bytes;
  throw new MiyabiError('INVALID_ARGUMENT', `${option} must be ${rangeText(range)}, got ${describe(value)}`, {
    hint: `Pass ${option}: a size from ${formatSize(range.min)}${range.max < Number.MAX_SAFE_INTEGER ? ` to ${formatSize(range.max)}` : ''}, or leave it out.`,
    details: { option },
  });
}
