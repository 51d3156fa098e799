export interface PrBodyCommit {
  readonly sha: string;
  readonly subject: string;
}

export interface PrBodyInput {
  readonly issueNumber: number;
  /** The issue's page; linked at the end. */
  readonly issueUrl?: string | undefined;
  readonly issueTitle?: string | undefined;
  /** The branch's commits (oldest first). */
  readonly commits?: readonly PrBodyCommit[] | undefined;
  readonly filesChanged?: readonly string[] | undefined;
  /** How long the task ran. */
  readonly durationMs?: number | undefined;
  /** The last lines the task's command printed. */
  readonly lastLines?: string | readonly string[] | undefined;
  /** The landing check's verdict on the branch merged onto its base (pool `check`). */
  readonly check?:
    | {
        readonly command: string;
        readonly passed: boolean;
        readonly onTopOf: string;
        readonly commit: string;
      }
    | undefined;
}

// Long lists are cut: a body must stay readable (and under GitHub's 65,536 characters).
const MAX_COMMITS = 50;
const MAX_FILES = 100;
const MAX_OUTPUT_CHARS = 4_000;

/**
 * A pull request body: `Closes #N` (so merging closes the issue), the task's summary (commits,
 * files changed, duration, last output lines) and a link back to the issue.
 */
export function prBody(input: PrBodyInput): string {
  const commits = input.commits ?? [];
  const files = input.filesChanged ?? [];
  const sections: string[] = [`Closes #${input.issueNumber}`];
  const facts = [
    input.commits ? `- Commits: ${commits.length}` : undefined,
    input.filesChanged ? `- Files changed: ${files.length}` : undefined,
    input.durationMs !== undefined ? `- Duration: ${formatDuration(input.durationMs)}` : undefined,
    input.check
      ? `- Check ${codeSpan(input.check.command)}: ${input.check.passed ? 'passed' : 'failed'} on this branch merged onto ${codeSpan(input.check.onTopOf)} (${input.check.commit.slice(0, 12)})`
      : undefined,
  ].filter((line) => line !== undefined);
  if (facts.length > 0) sections.push(['### Summary', ...facts].join('\n'));
  if (commits.length > 0) {
    const lines = commits
      .slice(0, MAX_COMMITS)
      .map((commit) => `- ${commit.sha.slice(0, 7)} ${oneLine(commit.subject)}`);
    sections.push(['### Commits', ...lines, ...more(commits.length, MAX_COMMITS)].join('\n'));
  }
  if (files.length > 0) {
    const lines = files.slice(0, MAX_FILES).map((file) => `- ${codeSpan(file)}`);
    sections.push(['### Files changed', ...lines, ...more(files.length, MAX_FILES)].join('\n'));
  }
  const output = (typeof input.lastLines === 'string' ? input.lastLines : (input.lastLines ?? []).join('\n'))
    .replaceAll('\0', '')
    .trimEnd();
  if (output !== '') {
    const text = output.length > MAX_OUTPUT_CHARS ? `…${output.slice(-MAX_OUTPUT_CHARS)}` : output;
    sections.push(`### Last output lines\n${codeBlock(text)}`);
  }
  const title = input.issueTitle ? ` (${oneLine(input.issueTitle)})` : '';
  const link = input.issueUrl ? `[#${input.issueNumber}](${input.issueUrl})` : `#${input.issueNumber}`;
  sections.push(`---\nIssue: ${link}${title} · opened by miyabi-worktree`);
  return `${sections.join('\n\n')}\n`;
}

function more(total: number, shown: number): string[] {
  return total > shown ? [`- … and ${total - shown} more`] : [];
}

function oneLine(text: string): string {
  return text.replaceAll('\0', '').replace(/\s+/g, ' ').trim();
}

/** `text` as inline code, with a fence longer than any backtick run inside it. */
function codeSpan(text: string): string {
  const fence = '`'.repeat(longestRun(text, '`') + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${oneLine(text)}${pad}${fence}`;
}

/** `text` in a fenced block that nothing inside it can close. */
function codeBlock(text: string): string {
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
  return `${fence}text\n${text}\n${fence}`;
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

/** `1m 05s`, `2h 03m`, `850 ms`. */
function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1_000);
  const h = Math.floor(seconds / 3_600);
  const m = Math.floor((seconds % 3_600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
