import * as z from 'zod';
import { inRange, MAX_DURATION_MS, OPTION_RANGES, type OptionRange, rangeText } from '../core/limits.js';
import { checkSize } from '../core/size.js';
import { MiyabiError } from '../errors.js';
import { branchNameProblem, branchPatternProblem } from '../git/branch-name.js';
import {
  CONFIG_FILE_NAME,
  DEFAULT_CONFIG,
  DEFAULT_PORTS,
  type MiyabiConfig,
  type PortsConfig,
} from './config-types.js';
import { checkDuration } from './duration.js';
import { normaliseRelativePath, relativePathProblem } from './relative-path.js';

/**
 * Validates already-parsed configuration data (the file's object) and applies the defaults.
 * `label` names the file in messages; `pathPrefix` is prepended to key paths.
 *
 * @throws MiyabiError `INVALID_CONFIG` with a one-line message for the first problem; every problem
 * is in `details.problems`.
 */
export function parseConfig(
  data: unknown,
  label = CONFIG_FILE_NAME,
  pathPrefix: readonly string[] = [],
): MiyabiConfig {
  const result = configSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => formatIssue(issue, label, pathPrefix));
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new MiyabiError('INVALID_CONFIG', `${problems[0] ?? `${label}: invalid`}${more}`, {
      details: { file: label, problems },
    });
  }
  const { $schema: _schema, timeout, setupTimeout, pauseMax, ...rest } = result.data;
  if (rest.setup && rest.setup.length > 0 && rest.share?.some((entry) => entry.mode === 'symlink')) {
    const linked = rest.share.filter((entry) => entry.mode === 'symlink').map((entry) => entry.path);
    throw new MiyabiError(
      'INVALID_CONFIG',
      `${label}: share: "${linked.join('", "')}" is linked (mode "symlink") while setup runs commands: every task's setup would write through the link into the main checkout at once`,
      {
        hint: 'Use mode "clone" (a copy each worktree owns), or drop setup.',
        details: { file: label, problems: [`share ${linked.join(', ')}: symlink with setup`] },
      },
    );
  }
  return dropUndefined({
    ...DEFAULT_CONFIG,
    ...dropUndefined(rest),
    timeoutMs: timeout,
    ...(setupTimeout === undefined ? {} : { setupTimeoutMs: setupTimeout }),
    ...(pauseMax === undefined ? {} : { pauseMaxMs: pauseMax }),
  });
}

// ---------------------------------------------------------------------------------------------
// Schema

const durationField = z.unknown().transform((value, ctx): number => {
  if (typeof value === 'string') {
    const parsed = checkDuration(value);
    if (parsed.ok) return parsed.ms;
    ctx.addIssue({ code: 'custom', message: `"${value}" ${parsed.problem}`, input: value });
    return z.NEVER;
  }
  if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_DURATION_MS) {
    return Math.round(value);
  }
  ctx.addIssue({
    code: 'custom',
    message: `expected a duration like "30m" or a positive number of milliseconds up to 7 days, got ${show(value)}`,
    input: value,
  });
  return z.NEVER;
});

/** A number in one of the shared ranges, refused in the words the pool and the CLI use. */
const rangedField = (range: OptionRange) =>
  z.unknown().transform((value, ctx): number => {
    if (inRange(value, range)) return value;
    ctx.addIssue({
      code: 'custom',
      message: `expected ${rangeText(range)}, got ${show(value)}`,
      input: value,
    });
    return z.NEVER;
  });

/** A memory size: `"4G"` (a unit is needed) or a number of bytes, within its shared range. */
const sizeField = (range: OptionRange) =>
  z.unknown().transform((value, ctx): number => {
    const parsed = typeof value === 'string' ? checkSize(value) : undefined;
    if (parsed && !parsed.ok) {
      ctx.addIssue({ code: 'custom', message: `"${value}" ${parsed.problem}`, input: value });
      return z.NEVER;
    }
    const bytes = parsed?.ok ? parsed.bytes : value;
    if (inRange(bytes, range)) return bytes;
    ctx.addIssue({
      code: 'custom',
      message: `expected ${rangeText(range)}, got ${show(value)}`,
      input: value,
    });
    return z.NEVER;
  });

const baseBranchField = z.string({ error: 'expected a string (a branch name)' }).superRefine((value, ctx) => {
  const problem = branchNameProblem(value);
  if (problem)
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a valid branch name: it ${problem}` });
});

const branchPatternField = z
  .string({ error: 'expected a string (a branch name containing {issue})' })
  .superRefine((value, ctx) => {
    const problem = branchPatternProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `"${value}" ${problem}` });
  });

const positiveInt = 'expected a positive integer';

const relativePathField = z
  .string({ error: 'expected a string (a path relative to the repository root)' })
  .superRefine((value, ctx) => {
    const problem = relativePathProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `"${value}" ${problem}` });
  })
  .transform(normaliseRelativePath);

const portField = (what: string) =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(1024, { error: `expected ${what} of at least 1024` })
    .max(65535, { error: `expected ${what} of at most 65535` });
const argvMessage = 'expected a command as a non-empty array of strings, e.g. ["npm", "ci"]';

const argvField = z
  .array(z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' }), {
    error: argvMessage,
  })
  .min(1, { error: argvMessage });

/** A command with a time limit (`check`, `score`): an argv array, or `{ command, timeout }`. */
const checkField = z.union(
  [
    argvField,
    z.strictObject({ command: argvField, timeout: durationField.optional() }).transform((value) => ({
      command: value.command,
      ...(value.timeout === undefined ? {} : { timeoutMs: value.timeout }),
    })),
  ],
  {
    error: 'expected a command like ["npm", "test"] or { "command": ["npm", "test"], "timeout": "10m" }',
  },
);

const configSchema = z.strictObject(
  {
    $schema: z.string({ error: 'expected a string (URL of a JSON schema)' }).optional(),
    worktreeDir: z
      .string({ error: 'expected a string (a folder path)' })
      .min(1, { error: 'expected a non-empty folder path' })
      .optional(),
    maxConcurrency: rangedField(OPTION_RANGES.maxConcurrency).optional(),
    timeout: durationField.optional(),
    baseBranch: baseBranchField.optional(),
    branchPattern: branchPatternField.optional(),
    setup: z
      .array(
        z
          .array(z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' }), {
            error: argvMessage,
          })
          .min(1, { error: argvMessage }),
        { error: 'expected an array of commands, e.g. [["npm", "ci"]]' },
      )
      .optional(),
    setupTimeout: durationField.optional(),
    include: z.boolean({ error: 'expected true or false' }).optional(),
    reuse: z.boolean({ error: 'expected true or false' }).optional(),
    keepPaths: z
      .array(relativePathField, { error: 'expected an array of paths, e.g. ["node_modules"]' })
      .optional(),
    maxIdle: rangedField(OPTION_RANGES.maxIdle).optional(),
    ports: z
      .strictObject(
        {
          base: portField('a port number').optional(),
          count: z
            .number({ error: positiveInt })
            .int({ error: positiveInt })
            .positive({ error: positiveInt })
            .max(1000, { error: 'expected at most 1000' })
            .optional(),
        },
        { error: 'expected an object like { "base": 20000, "count": 10 }' },
      )
      .superRefine((value, ctx) => {
        const base = value.base ?? DEFAULT_PORTS.base;
        const count = value.count ?? DEFAULT_PORTS.count;
        if (base + count - 1 > 65535) {
          ctx.addIssue({ code: 'custom', message: `ports ${base}..${base + count - 1} go beyond 65535` });
        }
      })
      .transform((value): PortsConfig => ({ ...DEFAULT_PORTS, ...dropUndefined(value) }))
      .optional(),
    share: z
      .array(
        z.strictObject(
          {
            path: relativePathField,
            mode: z.enum(['clone', 'symlink'], { error: 'expected "clone" or "symlink"' }),
          },
          { error: 'expected an object like { "path": "node_modules", "mode": "clone" }' },
        ),
        { error: 'expected an array like [{ "path": "node_modules", "mode": "clone" }]' },
      )
      .optional(),
    logRetention: rangedField(OPTION_RANGES.logRetention).optional(),
    maxMemory: sizeField(OPTION_RANGES.maxMemory).optional(),
    minFreeMemory: sizeField(OPTION_RANGES.minFreeMemory).optional(),
    check: z
      .union(
        [
          argvField,
          z
            .strictObject({
              command: argvField,
              timeout: durationField.optional(),
              batch: rangedField(OPTION_RANGES.checkBatch).optional(),
            })
            .transform((value) => ({
              command: value.command,
              ...(value.timeout === undefined ? {} : { timeoutMs: value.timeout }),
              ...(value.batch === undefined ? {} : { batch: value.batch }),
            })),
        ],
        {
          error:
            'expected a command like ["npm", "test"] or { "command": ["npm", "test"], "timeout": "10m", "batch": 4 }',
        },
      )
      .optional(),
    score: checkField.optional(),
    variants: z
      .union(
        [
          rangedField(OPTION_RANGES.variants),
          z
            .array(
              z.strictObject({
                name: z.string().min(1).optional(),
                command: argvField.optional(),
                env: z.record(z.string(), z.string()).optional(),
              }),
            )
            .min(OPTION_RANGES.variants.min)
            .max(OPTION_RANGES.variants.max),
        ],
        {
          error: `expected ${rangeText(OPTION_RANGES.variants)}, or a list of up to ${OPTION_RANGES.variants.max} like [{ "name": "a", "command": ["claude", "-p", "{title}"], "env": {} }]`,
        },
      )
      .optional(),
    setupInputs: z
      .array(z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' }), {
        error: 'expected an array of file names or patterns, e.g. ["package-lock.json", "requirements*.txt"]',
      })
      .optional(),
    pauseOn: z
      .array(
        z.string({ error: 'expected a string (a regular expression)' }).superRefine((value, ctx) => {
          const problem = regexProblem(value);
          if (problem)
            ctx.addIssue({
              code: 'custom',
              message: `"${value}" is not a valid regular expression (${problem})`,
            });
        }),
        { error: 'expected an array of regular expressions, e.g. ["quota exceeded"]' },
      )
      .optional(),
    pauseMax: durationField.optional(),
    resumeCommand: z
      .array(z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' }), {
        error: argvMessage,
      })
      .min(1, { error: argvMessage })
      .optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'expected a JSON object' : undefined) },
);

const KNOWN_KEYS = Object.keys(configSchema.shape).filter((key) => key !== '$schema');

// ---------------------------------------------------------------------------------------------
// Messages

/** One line: `<file>: <key path>: <problem>, got <value>`. */
function formatIssue(issue: z.core.$ZodIssue, label: string, pathPrefix: readonly string[]): string {
  const where = formatPath([...pathPrefix, ...issue.path]);
  const prefix = where ? `${label}: ${where}: ` : `${label}: `;
  if (issue.code === 'unrecognized_keys') {
    return `${prefix}${unknownKeys(issue.keys)}`;
  }
  // Custom messages already quote the value; zod's own checks get it appended.
  const got = issue.code === 'custom' || !('input' in issue) ? '' : `, got ${show(issue.input)}`;
  return `${prefix}${issue.message}${got}`;
}

/** `unknown key "maxConcurency" (did you mean "maxConcurrency"?)`; the known keys when no key is close. */
function unknownKeys(keys: readonly string[]): string {
  const parts: string[] = [];
  const unmatched: string[] = [];
  for (const key of keys) {
    const suggestion = closest(key, KNOWN_KEYS);
    if (suggestion) parts.push(`unknown key "${key}" (did you mean "${suggestion}"?)`);
    else unmatched.push(`"${key}"`);
  }
  if (unmatched.length > 0) {
    const noun = unmatched.length === 1 ? 'key' : 'keys';
    parts.push(`unknown ${noun} ${unmatched.join(', ')} (known keys: ${KNOWN_KEYS.join(', ')})`);
  }
  return parts.join('; ');
}

/** `setup[0][1]`, `miyabi-worktree.maxConcurrency`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** A short JSON rendering of a bad value for messages. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/** The candidate within edit distance 2 of `word` (typos like `maxConcurency`), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Why `pattern` is no JavaScript regular expression, else undefined. */
function regexProblem(pattern: string): string | undefined {
  if (pattern === '') return 'it is empty';
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
