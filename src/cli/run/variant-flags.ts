import { MiyabiError, OPTION_RANGES } from '../../index.js';
import { rangeText, splitCommandLine } from '../../internal.js';

/** What `run`'s variant flags ask for. */
export interface VariantFlags {
  /** `--variants N`: attempts per issue. */
  readonly variants?: number;
  /** `--score "<command line>"`, split into argv (no shell). */
  readonly score?: readonly string[];
  /** `--variants-stop-at SCORE`. */
  readonly variantsStopAt?: number;
}

/**
 * `--variants N` (1–10), `--score "<command line>"` and `--variants-stop-at SCORE` (0–100, needs
 * `--score`): `INVALID_ARGUMENT` (exit 2) naming the flag for anything else.
 */
export function parseVariantFlags(options: Readonly<Record<string, unknown>>): VariantFlags {
  const variants =
    typeof options.variants === 'string'
      ? integerIn(options.variants, '--variants', OPTION_RANGES.variants, '3')
      : undefined;
  const stopAt =
    typeof options.variantsStopAt === 'string'
      ? integerIn(options.variantsStopAt, '--variants-stop-at', OPTION_RANGES.variantsStopAt, '80')
      : undefined;
  if (stopAt !== undefined && typeof options.score !== 'string') {
    throw new MiyabiError('INVALID_ARGUMENT', '--variants-stop-at needs --score: it stops at a score', {
      hint: 'Add --score "<command that prints 0-100>", or drop --variants-stop-at.',
      details: { option: '--variants-stop-at' },
    });
  }
  return {
    ...(variants !== undefined ? { variants } : {}),
    ...(typeof options.score === 'string' ? { score: splitCommandLine(options.score, '--score') } : {}),
    ...(stopAt !== undefined ? { variantsStopAt: stopAt } : {}),
  };
}

function integerIn(
  text: string,
  flag: string,
  range: { readonly min: number; readonly max: number; readonly integer: boolean },
  example: string,
): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (Number.isSafeInteger(value) && value >= range.min && value <= range.max) return value;
  throw new MiyabiError('INVALID_ARGUMENT', `${flag}: "${trimmed}" is not ${rangeText(range)}`, {
    hint: `e.g. ${flag} ${example}`,
    details: { option: flag },
  });
}
