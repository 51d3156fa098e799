import { describe } from '../core/describe.js';
import { MiyabiError } from '../errors.js';
import { parseResetTime, type ResetClock } from './reset-time.js';

/** A provider's usage limit, seen in the last lines of a command that exited non-zero. */
export interface UsageLimitHit {
  /** Which recogniser saw it: `claude`, `codex`, `gemini`, or `pause-on` (a pattern of yours). */
  readonly source: 'claude' | 'codex' | 'gemini' | 'pause-on';
  /** The text that matched, trimmed to one line. */
  readonly text: string;
  /** When the limit resets (epoch ms), when the message says and it lies ahead; else undefined. */
  readonly resetAt: number | undefined;
}

/** Only this many last lines are looked at, so an agent that merely quotes such a text pauses nothing. */
export const USAGE_LIMIT_TAIL_LINES = 20;
/** The first wait when a message names no reset time; doubled for each further pause of the task. @default 60_000 */
export const USAGE_LIMIT_BACKOFF_MS = 60_000;

interface Recogniser {
  readonly source: UsageLimitHit['source'];
  /** Matches the message; its `reset` group, when present, is the reset time's text. */
  readonly pattern: RegExp;
}

// The built-in message forms, tried on the tail with its line breaks folded into spaces (terminals
// wrap long messages). Each names where the form was reported.
const BUILT_IN: readonly Recogniser[] = [
  // Claude Code `-p`: "Claude AI usage limit reached|1762952400" (anthropics/claude-code#11429, #6119, #2087).
  { source: 'claude', pattern: /Claude AI usage limit reached\s*\|\s*(?<reset>\d{9,13})/ },
  // Claude Code interactive: "Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw)."
  // (anthropics/claude-code#6119, #2087 "1pm (Etc/GMT+5)", #15064 "9am (America/Chicago)").
  {
    source: 'claude',
    pattern:
      /Claude(?: AI)? usage limit reached\.?(?:\s*Your limit will reset at\s+(?<reset>\d{1,2}(?::\d{2})?\s*[ap]m(?:\s*\([^)]+\))?))?/i,
  },
  // Claude Code 2.x: "You've hit your limit · resets 10pm (America/New_York)" (anthropics/claude-code#22946),
  // "resets 4:50am (Europe/Rome)" (#52575), "resets 1am".
  {
    source: 'claude',
    pattern:
      /You(?:'|’)ve hit your (?:session |weekly )?limit\s*[·•|-]?\s*(?:resets\s+(?<reset>\d{1,2}(?::\d{2})?\s*[ap]m(?:\s*\([^)]+\))?))?/i,
  },
  // Codex CLI: "You've hit your usage limit. Upgrade to Pro (…) or try again in 5 days 22 hours 11 minutes."
  // (openai/codex#3899, #3124, #4095) and "… or try again at Jul 5th, 2026 8:19 PM." (openai/codex#26668).
  {
    source: 'codex',
    pattern: /You(?:'|’)ve hit your usage limit\b(?:.*?try again (?<reset>(?:in|at) .+?)(?:\.(?:\s|$)|$))?/i,
  },
  // Gemini CLI: "You have exhausted your capacity on this model. Your quota will reset after 2h52m39s."
  // and "You have exhausted your daily quota on this model." (google-gemini/gemini-cli#18050, #15576,
  // TerminalQuotaError in gemini-cli-core's googleQuotaErrors), "You have reached your daily quota limit" (#3796).
  {
    source: 'gemini',
    pattern:
      /You have (?:exhausted your (?:daily quota|capacity)|reached your daily quota limit)[^.]*\.?(?:\s*Your quota will reset after\s+(?<reset>(?:\d+\s*[dhms]\s*)+))?/i,
  },
];

/**
 * Compiles `pauseOn` patterns (strings or RegExps; a named group `reset` may capture the reset time).
 *
 * @throws MiyabiError `INVALID_ARGUMENT` naming the pattern that is no valid regular expression.
 */
export function compilePauseOn(
  patterns: readonly (string | RegExp)[] | undefined,
  option = 'pauseOn',
): RegExp[] {
  if (patterns === undefined) return [];
  if (!Array.isArray(patterns)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${option} must be a list of regular expressions, got ${describe(patterns)}`,
      {
        details: { option },
      },
    );
  }
  return patterns.map((pattern) => {
    if (pattern instanceof RegExp) return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    if (typeof pattern !== 'string' || pattern === '') {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `${option} must hold non-empty regular expressions, got ${describe(pattern)}`,
        {
          details: { option },
        },
      );
    }
    try {
      return new RegExp(pattern, 'm');
    } catch (error) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `${option}: ${JSON.stringify(pattern)} is not a valid regular expression (${(error as Error).message})`,
        {
          hint: 'Give a JavaScript regular expression, e.g. "quota exceeded.*retry after (?<reset>\\d+s)".',
          details: { option },
        },
      );
    }
  });
}

/**
 * The usage limit the last {@link USAGE_LIMIT_TAIL_LINES} lines of `output` report, or undefined:
 * your `pauseOn` patterns first (line breaks kept), then the built-in forms of Claude Code, Codex CLI
 * and Gemini CLI. A reset time that is not ahead of `clock.now` counts as none.
 */
export function recogniseUsageLimit(
  output: string,
  clock: ResetClock,
  pauseOn: readonly RegExp[] = [],
): UsageLimitHit | undefined {
  const lines = output.replace(/\s+$/, '').split(/\r?\n/).slice(-USAGE_LIMIT_TAIL_LINES).join('\n');
  for (const pattern of pauseOn) {
    const match = pattern.exec(lines);
    if (match) return hit('pause-on', match, clock);
  }
  const folded = lines.replace(/\s+/g, ' ');
  for (const { source, pattern } of BUILT_IN) {
    const match = pattern.exec(folded);
    if (match) return hit(source, match, clock);
  }
  return undefined;
}

function hit(source: UsageLimitHit['source'], match: RegExpExecArray, clock: ResetClock): UsageLimitHit {
  const resetText = match.groups?.reset;
  const resetAt = resetText === undefined ? undefined : parseResetTime(resetText, clock);
  return {
    source,
    text: match[0].replace(/\s+/g, ' ').trim().slice(0, 300),
    resetAt: resetAt !== undefined && resetAt > clock.now ? resetAt : undefined,
  };
}

/** The wait before the `attempt`-th resume when no reset time was given: 1 min, 2 min, 4 min, … */
export function usageLimitBackoffMs(attempt: number): number {
  return USAGE_LIMIT_BACKOFF_MS * 2 ** Math.min(Math.max(attempt - 1, 0), 20);
}
