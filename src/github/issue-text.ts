import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { IssueContext } from './types.js';

/**
 * The most bytes of issue text put in one environment variable or argument. Linux refuses a
 * single one over 128 KiB (spawn fails with E2BIG) and all of them together over ~2 MiB.
 */
export const ISSUE_TEXT_LIMIT_BYTES = 16 * 1024;

/** The variable that names the file holding the issue's whole body. */
export const ISSUE_FILE_VAR = 'MIYABI_ISSUE_FILE';

/** `text` without NUL bytes (no argument or variable can hold one), cut to `limitBytes` with a note. */
export function truncateIssueText(text: string, limitBytes = ISSUE_TEXT_LIMIT_BYTES): string {
  const clean = text.replaceAll('\0', '');
  const bytes = Buffer.from(clean, 'utf8');
  if (bytes.length <= limitBytes) return clean;
  const note = (shown: number) =>
    `\n\n[miyabi-worktree: cut to ${shown} of ${bytes.length} bytes; the whole text is in the file $${ISSUE_FILE_VAR}]`;
  // The note's own length depends on the number in it; reserve room for the widest one.
  let cut = Math.max(0, limitBytes - Buffer.byteLength(note(limitBytes)));
  // Never split a UTF-8 sequence: back up to the first byte of a character.
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return `${bytes.subarray(0, cut).toString('utf8')}${note(cut)}`;
}

export interface IssueEnvironmentOptions {
  /** The file the whole body was written to (`writeIssueFile`); sets `MIYABI_ISSUE_FILE`. */
  readonly file?: string | undefined;
  /** @default ISSUE_TEXT_LIMIT_BYTES */
  readonly limitBytes?: number | undefined;
}

/**
 * The environment a task's command gets for its issue: `MIYABI_ISSUE_TITLE`, `MIYABI_ISSUE_BODY`
 * (NUL bytes dropped, cut to 16 KiB with a note), `MIYABI_ISSUE_URL`, `MIYABI_ISSUE_LABELS`
 * (comma-separated) and `MIYABI_ISSUE_FILE` when a file was written.
 */
export function issueEnvironment(
  context: IssueContext,
  options: IssueEnvironmentOptions = {},
): Record<string, string> {
  const limit = options.limitBytes ?? ISSUE_TEXT_LIMIT_BYTES;
  return {
    MIYABI_ISSUE_TITLE: truncateIssueText(context.title, limit),
    MIYABI_ISSUE_BODY: truncateIssueText(context.body, limit),
    MIYABI_ISSUE_URL: truncateIssueText(context.url, limit),
    MIYABI_ISSUE_LABELS: truncateIssueText(context.labels.join(','), limit),
    ...(options.file !== undefined ? { [ISSUE_FILE_VAR]: options.file } : {}),
  };
}

/** Writes the issue's whole body, byte for byte (NULs and all), to `path` (readable by the owner only). */
export async function writeIssueFile(context: IssueContext, path: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, context.body, { encoding: 'utf8', mode: 0o600 });
  return path;
}

/** The issue placeholders `run` replaces in a command's arguments. */
export const ISSUE_PLACEHOLDERS = ['{title}', '{body}', '{url}', '{labels}'] as const;
export type IssuePlaceholder = (typeof ISSUE_PLACEHOLDERS)[number];

/** The value of each issue placeholder, truncated like the environment. */
export function issuePlaceholderValues(
  context: IssueContext,
  limitBytes = ISSUE_TEXT_LIMIT_BYTES,
): Record<IssuePlaceholder, string> {
  return {
    '{title}': truncateIssueText(context.title, limitBytes),
    '{body}': truncateIssueText(context.body, limitBytes),
    '{url}': truncateIssueText(context.url, limitBytes),
    '{labels}': truncateIssueText(context.labels.join(','), limitBytes),
  };
}

/**
 * `argv` with the issue placeholders replaced, in one pass, each argument staying one argument
 * (no shell ever sees it); a value that itself holds `{body}` is not expanded again.
 */
export function expandIssuePlaceholders(argv: readonly string[], context: IssueContext): string[] {
  const values = issuePlaceholderValues(context);
  return argv.map((arg) =>
    arg.replace(/\{(?:title|body|url|labels)\}/g, (token) => values[token as IssuePlaceholder]),
  );
}
