import type { MiyabiConfig } from '../../config/config-types.js';
import { describe } from '../../core/describe.js';
import { assertOptionInRange } from '../../core/limits.js';
import type { VariantSpec, VariantsOption } from '../../core/variant.js';
import { MiyabiError } from '../../errors.js';
import { type CheckSpec, resolveCheck } from '../../process/check-command.js';
import type { PoolConfig } from '../types.js';

/** The pool's variant settings in force. */
export interface VariantSettings {
  /** One entry per attempt; one entry without a command or env: the issue runs once, as without variants. */
  readonly variants: readonly VariantSpec[];
  readonly score: CheckSpec | undefined;
  readonly variantsStopAt: number | undefined;
}

/**
 * `variants`, `score` and `variantsStopAt`: given, else the configuration file's (with queue too:
 * each attempt is a job); `INVALID_ARGUMENT` when malformed.
 */
export function resolveVariants(config: PoolConfig, file: MiyabiConfig): VariantSettings {
  const fromFile: Pick<MiyabiConfig, 'variants' | 'score'> = file;
  const variants = variantSpecs(config.variants ?? fromFile.variants, 'variants');
  const score = resolveCheck(config.score ?? fromFile.score, 'score');
  const stopAt = config.variantsStopAt;
  if (stopAt !== undefined) {
    assertOptionInRange('variantsStopAt', stopAt);
    if (!score) {
      throw new MiyabiError('INVALID_ARGUMENT', 'variantsStopAt needs score: it stops at a score', {
        hint: "Pass score: ['node', 'score.js'] as well, or leave variantsStopAt out.",
        details: { option: 'variantsStopAt' },
      });
    }
  }
  if (variants.length > 1) refuseWithVariants(config);
  return { variants, score, variantsStopAt: stopAt };
}

/** A `variants` value (the pool's, the file's or a task's) as one spec per attempt. */
export function variantSpecs(value: VariantsOption | undefined, option: string): readonly VariantSpec[] {
  if (value === undefined) return [{}];
  if (typeof value === 'number') {
    assertOptionInRange('variants', value);
    return Array.from({ length: value }, () => ({}));
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw variantsError(option, `must be a number of attempts or a list of them, got ${describe(value)}`);
  }
  assertOptionInRange('variants', value.length);
  return value.map((spec: unknown, index) => checkSpec(spec, `${option}[${index}]`));
}

function checkSpec(spec: unknown, option: string): VariantSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw variantsError(option, `must be an object like { name, command, env }, got ${describe(spec)}`);
  }
  const { name, command, env } = spec as Record<string, unknown>;
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
    throw variantsError(option, `.name must be a non-empty string, got ${describe(name)}`);
  }
  if (
    command !== undefined &&
    (!Array.isArray(command) ||
      command.length === 0 ||
      command.some((arg) => typeof arg !== 'string') ||
      command[0] === '')
  ) {
    throw variantsError(option, `.command must be a non-empty argv array, got ${describe(command)}`);
  }
  if (
    env !== undefined &&
    (typeof env !== 'object' ||
      env === null ||
      Array.isArray(env) ||
      Object.values(env).some((value) => typeof value !== 'string'))
  ) {
    throw variantsError(option, `.env must be an object of strings, got ${describe(env)}`);
  }
  return spec as VariantSpec;
}

/** Follow-ups a variant batch does not do yet: said up front, before anything runs. */
function refuseWithVariants(config: PoolConfig): void {
  for (const option of ['push', 'pullRequest'] as const) {
    if (config[option] !== undefined) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `${option} cannot go with variants yet: only merge lands a winner`,
        {
          hint: `Leave ${option} out (merge: {} lands the winner), or run one attempt per issue.`,
          details: { option },
        },
      );
    }
  }
}

function variantsError(option: string, what: string): MiyabiError {
  return new MiyabiError('INVALID_ARGUMENT', `${option} ${what}`, {
    hint: "Pass variants: 3, or variants: [{ name: 'a', command: ['claude', '-p', '{title}'] }, …].",
    details: { option },
  });
}
