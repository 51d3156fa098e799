import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { MiyabiError } from '../errors.js';
import { checkDuration, MAX_DURATION_MS } from './parse-duration.js';

/** The dedicated configuration file, looked up at the repository root. */
export const CONFIG_FILE_NAME = 'miyabi-worktree.config.json';
/** The key holding the configuration inside the root `package.json`. */
export const PACKAGE_JSON_KEY = 'miyabi-worktree';
/** Upper bound of `maxConcurrency` / `--concurrency`. */
export const MAX_CONCURRENCY = 64;
/** Branch name used when the configuration sets no `branchPattern` (the library's default). */
export const DEFAULT_BRANCH_PATTERN = 'feature/issue-{issue}';
/** Time budget of all `setup` commands of one worktree together, when not configured: 10 minutes. */
export const DEFAULT_SETUP_TIMEOUT_MS = 600_000;

/**
 * The CLI configuration after validation and defaults.
 *
 * Keys the library already defaults (`worktreeDir`, `maxConcurrency`, `timeoutMs`, `baseBranch`)
 * stay `undefined` when unset so that there is one source of truth for those defaults; the
 * CLI-only keys are always filled in.
 */
export interface ResolvedConfig {
  /** Folder for worktrees, relative to the repository root unless absolute. */
  readonly worktreeDir?: string | undefined;
  /** Tasks (whole lifecycles) at once, 1..{@link MAX_CONCURRENCY}. */
  readonly maxConcurrency?: number | undefined;
  /** Per-task timeout of `run`, in milliseconds. */
  readonly timeoutMs?: number | undefined;
  /** Branch new worktrees start from; else the library's detection. */
  readonly baseBranch?: string | undefined;
  /** Branch name of a task's worktree; `{issue}` is replaced by the issue number. */
  readonly branchPattern: string;
  /** Commands (argv arrays, no shell) run in order in each new worktree. @default [] */
  readonly setup: readonly (readonly string[])[];
  /** Budget for all `setup` commands of one worktree, in milliseconds. @default 600_000 */
  readonly setupTimeoutMs: number;
  /** Copy the files `.worktreeinclude` lists (and git ignores) into new worktrees. @default true */
  readonly include: boolean;
}

/** What {@link loadConfig} found. */
export interface LoadedConfig {
  readonly config: ResolvedConfig;
  /** Absolute path of the file the configuration came from (`package.json` for the key), or `null`. */
  readonly source: string | null;
  /** Things a person should know, e.g. a `package.json` key shadowed by the dedicated file. */
  readonly warnings: readonly string[];
}

/** Values from command-line flags; `undefined` means "not passed" and never overrides the file. */
export type ConfigFlags = { readonly [K in keyof ResolvedConfig]?: ResolvedConfig[K] | undefined };

const DEFAULTS: ResolvedConfig = {
  branchPattern: DEFAULT_BRANCH_PATTERN,
  setup: [],
  setupTimeoutMs: DEFAULT_SETUP_TIMEOUT_MS,
  include: true,
};

/**
 * Reads the configuration of the repository at `repoRoot` (the main worktree root).
 *
 * Looks for `miyabi-worktree.config.json`, else a `"miyabi-worktree"` key in `package.json`. When
 * both exist the dedicated file wins and the key is ignored (a warning says so). Neither → the
 * defaults and `source: null`.
 *
 * @throws MiyabiError `INVALID_CONFIG` naming the file, and the key path or the JSON position.
 */
export async function loadConfig(repoRoot: string): Promise<LoadedConfig> {
  const filePath = join(repoRoot, CONFIG_FILE_NAME);
  const packagePath = join(repoRoot, 'package.json');
  const fileText = await readOptional(filePath, CONFIG_FILE_NAME);
  if (fileText !== null) {
    const config = parseConfig(parseJson(fileText, CONFIG_FILE_NAME), CONFIG_FILE_NAME);
    const warnings = (await packageHasKey(packagePath))
      ? [`package.json "${PACKAGE_JSON_KEY}" is ignored because ${CONFIG_FILE_NAME} exists`]
      : [];
    return { config, source: filePath, warnings };
  }
  const packageText = await readOptional(packagePath, 'package.json');
  if (packageText === null) return { config: DEFAULTS, source: null, warnings: [] };
  const manifest = parseJson(packageText, 'package.json');
  if (!isRecord(manifest) || !(PACKAGE_JSON_KEY in manifest)) {
    return { config: DEFAULTS, source: null, warnings: [] };
  }
  const config = parseConfig(manifest[PACKAGE_JSON_KEY], 'package.json', [PACKAGE_JSON_KEY]);
  return { config, source: packagePath, warnings: [] };
}

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
): ResolvedConfig {
  const result = configSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => formatIssue(issue, label, pathPrefix));
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new MiyabiError('INVALID_CONFIG', `${problems[0] ?? `${label}: invalid`}${more}`, {
      details: { file: label, problems },
    });
  }
  const { $schema: _schema, timeout, setupTimeout, ...rest } = result.data;
  return dropUndefined({
    ...DEFAULTS,
    ...dropUndefined(rest),
    timeoutMs: timeout,
    ...(setupTimeout === undefined ? {} : { setupTimeoutMs: setupTimeout }),
  });
}

/**
 * The configuration with the flags the user actually passed on top: a flag whose value is
 * `undefined` (not passed) leaves the file's value, or the default, in place.
 */
export function mergeConfig(config: ResolvedConfig, flags: ConfigFlags): ResolvedConfig {
  const merged: Record<string, unknown> = { ...config };
  for (const [key, value] of Object.entries(flags)) {
    if (value !== undefined) merged[key] = value;
  }
  return merged as unknown as ResolvedConfig;
}

/**
 * Parses `--concurrency N`: an integer from 1 to {@link MAX_CONCURRENCY}.
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming the option.
 */
export function parseConcurrency(text: string, optionName = '--concurrency'): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (Number.isSafeInteger(value) && value >= 1 && value <= MAX_CONCURRENCY) return value;
  throw new MiyabiError(
    'INVALID_ARGUMENT',
    `${optionName}: "${trimmed}" is not a whole number from 1 to ${MAX_CONCURRENCY}`,
    { hint: `e.g. ${optionName} 4`, details: { option: optionName } },
  );
}

/** The branch name `pattern` gives for `issueNumber` (`feature/issue-{issue}` → `feature/issue-7`). */
export function expandBranchPattern(pattern: string, issueNumber: number): string {
  return pattern.replaceAll('{issue}', String(issueNumber));
}

/**
 * Why `name` is not a usable branch name, or `undefined` when it is plausible. A subset of
 * `git check-ref-format` that needs no git call: no whitespace or control characters, none of
 * `~ ^ : ? * [ \`, no `..`, `@{` or `//`, not starting with `-` or `/`, no component starting with
 * `.` or ending with `.lock`, not ending with `/` or `.`, not `@`.
 */
export function branchNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject.
  if (/[\s\x00-\x1f\x7f]/.test(name)) return 'contains whitespace or a control character';
  if (/[~^:?*[\\]/.test(name)) return 'contains one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.includes('//')) return 'contains "//"';
  if (name.startsWith('-')) return 'starts with "-"';
  if (name.startsWith('/') || name.endsWith('/')) return 'starts or ends with "/"';
  if (name.endsWith('.')) return 'ends with "."';
  if (name === '@') return 'is "@"';
  if (name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'))) {
    return 'has a path component starting with "." or ending with ".lock"';
  }
  return undefined;
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

const branchField = (what: string, needsIssue: boolean) =>
  z.string({ error: `expected a string (${what})` }).superRefine((value, ctx) => {
    const unknownPlaceholder = /\{(?!issue\})[^}]*\}/.exec(value);
    if (needsIssue && unknownPlaceholder) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown placeholder ${unknownPlaceholder[0]} in "${value}" (only {issue} is supported)`,
      });
      return;
    }
    if (needsIssue && !value.includes('{issue}')) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" must contain {issue}, e.g. "feature/issue-{issue}"`,
      });
      return;
    }
    const name = needsIssue ? expandBranchPattern(value, 123) : value;
    const problem = branchNameProblem(name);
    if (problem)
      ctx.addIssue({ code: 'custom', message: `"${name}" is not a valid branch name: it ${problem}` });
  });

const positiveInt = 'expected a positive integer';
const argvMessage = 'expected a command as a non-empty array of strings, e.g. ["npm", "ci"]';

const configSchema = z.strictObject(
  {
    $schema: z.string({ error: 'expected a string (URL of a JSON schema)' }).optional(),
    worktreeDir: z
      .string({ error: 'expected a string (a folder path)' })
      .min(1, { error: 'expected a non-empty folder path' })
      .optional(),
    maxConcurrency: z
      .number({ error: positiveInt })
      .int({ error: positiveInt })
      .positive({ error: positiveInt })
      .max(MAX_CONCURRENCY, { error: `expected at most ${MAX_CONCURRENCY}` })
      .optional(),
    timeout: durationField.optional(),
    baseBranch: branchField('a branch name', false).optional(),
    branchPattern: branchField('a branch name containing {issue}', true).optional(),
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

// ---------------------------------------------------------------------------------------------
// Files and JSON

async function readOptional(path: string, label: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new MiyabiError('INVALID_CONFIG', `${label}: cannot be read: ${(error as Error).message}`, {
      cause: error,
      hint: `Make ${label} a readable file, or remove it.`,
      details: { file: label },
    });
  }
}

async function packageHasKey(path: string): Promise<boolean> {
  try {
    const manifest: unknown = JSON.parse(await readFile(path, 'utf8'));
    return isRecord(manifest) && PACKAGE_JSON_KEY in manifest;
  } catch {
    // Only used for a warning: an unreadable package.json does not matter here.
    return false;
  }
}

/** JSON.parse with an INVALID_CONFIG error that names the file, line and column. */
function parseJson(text: string, label: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (error) {
    const found = locateJsonError(body);
    const { line, column } = lineColumn(body, found.offset);
    throw new MiyabiError(
      'INVALID_CONFIG',
      `${label}: invalid JSON at line ${line}, column ${column}: ${found.reason}`,
      {
        cause: error,
        hint: `Fix the JSON syntax of ${label} (no comments or trailing commas).`,
        details: { file: label, line, column, offset: found.offset },
      },
    );
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

class JsonSyntax {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

const JSON_LITERAL = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/;

/** A validating recursive-descent pass over JSON text that throws {@link JsonSyntax} at the first error. */
class JsonScanner {
  private i = 0;

  constructor(private readonly text: string) {}

  scanDocument(): void {
    this.scanValue();
    this.skipSpace();
    if (this.i < this.text.length) this.fail('unexpected text after the JSON value');
  }

  private fail(reason: string): never {
    throw new JsonSyntax(this.i, this.peek() === undefined ? 'unexpected end of file' : reason);
  }

  private peek(): string | undefined {
    return this.text[this.i];
  }

  private skipSpace(): void {
    while (' \t\n\r'.includes(this.peek() ?? 'x')) this.i++;
  }

  private expect(char: string, reason: string): void {
    this.skipSpace();
    if (this.peek() !== char) this.fail(reason);
    this.i++;
  }

  private scanValue(): void {
    this.skipSpace();
    const char = this.peek();
    if (char === '{') this.scanContainer('}', () => this.scanMember());
    else if (char === '[') this.scanContainer(']', () => this.scanValue());
    else if (char === '"') this.scanString();
    else {
      const literal = JSON_LITERAL.exec(this.text.slice(this.i));
      if (!literal) this.fail(`unexpected character ${JSON.stringify(char)}`);
      else this.i += literal[0].length;
    }
  }

  private scanMember(): void {
    this.skipSpace();
    if (this.peek() !== '"') this.fail('expected a double-quoted property name');
    this.scanString();
    this.expect(':', "expected ':' after the property name");
    this.scanValue();
  }

  private scanContainer(close: string, scanItem: () => void): void {
    this.i++;
    this.skipSpace();
    if (this.peek() === close) {
      this.i++;
      return;
    }
    for (;;) {
      scanItem();
      this.skipSpace();
      if (this.peek() === close) break;
      this.expect(',', `expected ',' or '${close}'`);
      this.skipSpace();
      if (this.peek() === close) this.fail(`trailing comma before '${close}'`);
    }
    this.i++;
  }

  private scanString(): void {
    this.i++;
    for (let char = this.peek(); char !== '"'; char = this.peek()) {
      if (char === undefined) this.fail('unterminated string');
      else if (char < ' ') this.fail('control character in string (escape it)');
      else if (char === '\\') this.scanEscape();
      else this.i++;
    }
    this.i++;
  }

  private scanEscape(): void {
    this.i++;
    const next = this.peek() ?? '';
    if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 1, this.i + 5))) this.i += 5;
    else if (next !== '' && '"\\/bfnrt'.includes(next)) this.i++;
    else this.fail('bad escape sequence in string');
  }
}

/**
 * Where and why `text` is not JSON. V8's messages give no position for some errors
 * (`Unexpected token '}', ... is not valid JSON`), so a small scanner finds it instead.
 */
export function locateJsonError(text: string): { offset: number; reason: string } {
  try {
    new JsonScanner(text).scanDocument();
  } catch (error) {
    if (error instanceof JsonSyntax) return { offset: error.offset, reason: error.reason };
    // Absurd nesting overflows the stack: report the start rather than crash.
  }
  return { offset: 0, reason: 'invalid JSON' };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
