import { afterEach, describe, expect, it, vi } from 'vitest';
import { exitCodeFor, formatError } from '../src/cli/render/error.js';
import { errorJson, formatJson } from '../src/cli/render/json.js';
import {
  changeLine,
  createProgressRenderer,
  type ProgressStream,
  renderFrame,
  summaryLine,
  type TaskProgress,
} from '../src/cli/render/progress.js';
import { renderTable } from '../src/cli/render/table.js';
import { sanitizeLine, stringWidth, stripAnsi, truncateToWidth } from '../src/cli/render/text-width.js';
import { MiyabiError } from '../src/errors.js';

const T0 = Date.UTC(2026, 10, 25, 6, 40, 0);

describe('text width', () => {
  it('counts CJK, fullwidth and emoji as two columns, marks and ANSI as none', () => {
    expect(stringWidth('abc')).toBe(3);
    expect(stringWidth('日本語')).toBe(6);
    expect(stringWidth('ｱｲ')).toBe(2); // halfwidth katakana
    expect(stringWidth('ＡＢ')).toBe(4); // fullwidth latin
    expect(stringWidth('한국')).toBe(4);
    expect(stringWidth('🚀')).toBe(2);
    expect(stringWidth('👨‍👩‍👧')).toBe(2);
    expect(stringWidth('❤️')).toBe(2);
    expect(stringWidth('é')).toBe(1); // e + combining acute
    expect(stringWidth('\u001b[31mred\u001b[0m')).toBe(3);
    expect(stringWidth('✔ ✖')).toBe(3);
  });

  it('truncates by columns without splitting wide characters', () => {
    expect(truncateToWidth('hello world', 8)).toBe('hello w…');
    expect(truncateToWidth('hello', 5)).toBe('hello');
    expect(truncateToWidth('日本語テキスト', 6)).toBe('日本…');
    expect(truncateToWidth('日本語テキスト', 7)).toBe('日本語…');
    expect(truncateToWidth('abc', 0)).toBe('');
  });

  it('reduces program output to one clean line', () => {
    expect(sanitizeLine('a\nb\n\n')).toBe('b');
    expect(sanitizeLine('progress 10%\rprogress 90%\r')).toBe('progress 90%');
    expect(sanitizeLine('\u001b[32m✓ ok\u001b[0m\tdone\u0007')).toBe('✓ ok  done');
    expect(stripAnsi('\u001b]8;;https://x.invalid\u0007link\u001b]8;;\u0007')).toBe('link');
  });
});

describe('renderTable', () => {
  const rows = [
    { id: 'issue-1-0a1b2c3d', issue: 1, branch: 'feature/issue-1', status: 'active' },
    { id: 'issue-12-ffee0011', issue: 12, branch: '機能/課題-12', status: null },
  ];
  const columns = [
    { header: 'ID', value: (row: (typeof rows)[number]) => row.id },
    { header: 'ISSUE', value: (row: (typeof rows)[number]) => row.issue, align: 'right' as const },
    { header: 'BRANCH', value: (row: (typeof rows)[number]) => row.branch },
    { header: 'STATUS', value: (row: (typeof rows)[number]) => row.status },
  ];

  it('aligns columns in terminal columns, CJK included, with no trailing spaces', () => {
    expect(renderTable(rows, columns)).toBe(
      [
        'ID                 ISSUE  BRANCH           STATUS',
        'issue-1-0a1b2c3d       1  feature/issue-1  active',
        'issue-12-ffee0011     12  機能/課題-12',
      ].join('\n'),
    );
  });

  it('cuts cells at maxWidth and lines at the terminal width', () => {
    const narrow = [{ ...columns[0]!, maxWidth: 8 }, columns[1]!];
    expect(renderTable(rows, narrow)).toBe(
      ['ID        ISSUE', 'issue-1…      1', 'issue-1…     12'].join('\n'),
    );
    expect(renderTable(rows, columns, { width: 24 }).split('\n')).toEqual([
      'ID                 ISSU…',
      'issue-1-0a1b2c3d       …',
      'issue-12-ffee0011     1…',
    ]);
  });

  it('flattens multi-line cells and renders just the header for no rows', () => {
    expect(renderTable([{ v: 'a\nb' }], [{ header: 'V', value: (row: { v: string }) => row.v }])).toBe(
      'V\na b',
    );
    expect(renderTable([], columns)).toBe('ID  ISSUE  BRANCH  STATUS');
  });
});

const batch: TaskProgress[] = [
  { issueNumber: 1, state: 'success', startedAt: T0, endedAt: T0 + 65_000 },
  {
    issueNumber: 2,
    state: 'running',
    startedAt: T0 + 1_000,
    lastLine: '\u001b[33mcompiling src/index.ts\u001b[0m',
  },
  {
    issueNumber: 12,
    state: 'failed',
    startedAt: T0,
    endedAt: T0 + 2_300,
    lastLine: 'npm ERR! missing script: test',
  },
  { issueNumber: 103, state: 'queued' },
  { issueNumber: 7, state: 'setup', startedAt: T0 + 9_550 },
  { issueNumber: 8, state: 'timeout', startedAt: T0, endedAt: T0 + 1_800_000 },
  { issueNumber: 9, state: 'cancelled' },
];

describe('renderFrame', () => {
  it('draws one aligned line per task and a summary', () => {
    // T0 + 10 s is spinner frame 5 (80 ms per frame).
    expect(renderFrame(batch, T0 + 10_000, 100)).toBe(
      [
        '✔ #1   success    1m 05s',
        '⠴ #2   running      9.0s  compiling src/index.ts',
        '✖ #12  failed       2.3s  npm ERR! missing script: test',
        '· #103 queued',
        '⠴ #7   setup       450ms',
        '⧗ #8   timeout   30m 00s',
        '⊘ #9   cancelled',
        '4/7 finished · 1 succeeded · 1 failed · 1 timed out · 1 cancelled · 2 running · 1 queued',
      ].join('\n'),
    );
  });

  it('cuts every line to the width and moves the spinner with the clock', () => {
    const frame = renderFrame(batch.slice(0, 3), T0 + 10_080, 30);
    expect(frame).toBe(
      [
        '✔ #1  success   1m 05s',
        '⠦ #2  running     9.1s  compi…',
        '✖ #12 failed      2.3s  npm E…',
        '2/3 finished · 1 succeeded · …',
      ].join('\n'),
    );
    for (const line of frame.split('\n')) expect(stringWidth(line)).toBeLessThanOrEqual(30);
  });

  it('keeps active tasks and failures when the tasks do not fit the height', () => {
    const many: TaskProgress[] = [
      ...Array.from({ length: 6 }, (_, index) => ({
        issueNumber: index + 1,
        state: 'success' as const,
        startedAt: T0,
        endedAt: T0 + 1_000,
      })),
      { issueNumber: 7, state: 'failed', startedAt: T0, endedAt: T0 + 2_000 },
      { issueNumber: 8, state: 'running', startedAt: T0 },
      { issueNumber: 9, state: 'queued' },
    ];
    expect(renderFrame(many, T0 + 5_000, 60, { maxLines: 5 })).toBe(
      [
        '✖ #7 failed    2.0s',
        '⠹ #8 running   5.0s',
        '· #9 queued',
        '  … 6 finished',
        '7/9 finished · 6 succeeded · 1 failed · 1 running · 1 queued',
      ].join('\n'),
    );
    // The folded line says what it folds: finished tasks, and queued ones when even they do not fit.
    expect(renderFrame(many, T0 + 5_000, 60, { maxLines: 3 }).split('\n')[1]).toBe(
      '  … 7 finished, 1 queued',
    );
  });

  it('summarises an empty batch', () => {
    expect(renderFrame([], T0, 80)).toBe('0/0 finished');
    expect(summaryLine([{ issueNumber: 1, state: 'creating' }])).toBe('0/1 finished · 1 running');
  });
});

/** A writable stand-in for a terminal or a pipe that records what was written. */
function recordingStream(isTTY: boolean): ProgressStream & { chunks: string[]; text(): string } {
  const chunks: string[] = [];
  return {
    chunks,
    isTTY,
    columns: 60,
    rows: 20,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    text: () => stripAnsi(chunks.join('')),
  };
}

/** What a terminal shows after `output`: lines, with log-update's erase-line, cursor-up and column-0 applied. */
function screen(output: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what a terminal reads.
  const pattern = /\u001b\[(\d*)([A-Za-z])|\u001b\[\?\d+[lh]|([^\u001b]+)/g;
  for (const match of output.matchAll(pattern)) {
    const [, count, command, text] = match;
    if (text !== undefined) {
      for (const [index, part] of text.split('\n').entries()) {
        if (index > 0) {
          row++;
          lines[row] ??= '';
        }
        lines[row] = (lines[row] ?? '') + part;
      }
    } else if (command === 'K') lines[row] = '';
    else if (command === 'A') row = Math.max(0, row - Number(count || 1));
  }
  return lines.slice(0, row + 1).filter((line, index, all) => index < all.length - 1 || line !== '');
}

describe('createProgressRenderer', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('prints timestamped lines only when a state changes when not on a terminal', () => {
    const stream = recordingStream(false);
    let clock = T0 + 1_000;
    const renderer = createProgressRenderer({ stream, now: () => clock });
    renderer.update([
      { issueNumber: 3, state: 'queued' },
      { issueNumber: 4, state: 'queued' },
    ]);
    renderer.update([
      { issueNumber: 3, state: 'running', startedAt: clock },
      { issueNumber: 4, state: 'queued' },
    ]);
    renderer.update([
      { issueNumber: 3, state: 'running', startedAt: T0 + 1_000, lastLine: 'more output' },
      { issueNumber: 4, state: 'queued' },
    ]);
    clock = T0 + 13_300;
    renderer.done([
      { issueNumber: 3, state: 'failed', startedAt: T0 + 1_000, endedAt: clock, lastLine: 'boom\n' },
      { issueNumber: 4, state: 'cancelled' },
    ]);
    renderer.update([{ issueNumber: 3, state: 'success' }]);
    expect(stream.chunks.join('')).toBe(
      [
        '2026-11-25T06:40:01Z #3 running',
        '2026-11-25T06:40:13Z #3 failed (12.3s): boom',
        '2026-11-25T06:40:13Z #4 cancelled',
        '',
      ].join('\n'),
    );
  });

  it('redraws in place on a terminal, at most once per throttle interval', () => {
    vi.useFakeTimers({ now: T0 });
    const stream = recordingStream(true);
    const renderer = createProgressRenderer({ stream, throttleMs: 100 });
    const running = (line: string): TaskProgress[] => [
      { issueNumber: 5, state: 'running', startedAt: T0, lastLine: line },
    ];

    renderer.update(running('first'));
    expect(stream.text()).toContain('#5 running');
    expect(stream.text()).toContain('first');
    const writesAfterFirst = stream.chunks.length;

    renderer.update(running('second'));
    renderer.update(running('third'));
    expect(stream.chunks.length).toBe(writesAfterFirst);

    vi.advanceTimersByTime(100);
    expect(stream.text()).toContain('third');
    expect(stream.text()).not.toContain('second');
    // Escape sequences move the cursor back: the frame is redrawn, not appended as plain lines.
    expect(stream.chunks.join('')).toContain('\u001b[');

    renderer.done([{ issueNumber: 5, state: 'success', startedAt: T0, endedAt: T0 + 150 }]);
    expect(stream.text()).toContain('✔ #5 success');
    const writesAfterDone = stream.chunks.length;
    vi.advanceTimersByTime(1_000);
    renderer.update(running('late'));
    expect(stream.chunks.length).toBe(writesAfterDone);
  });

  it('prints a notice above the live view, which is redrawn below it without stale rows', () => {
    vi.useFakeTimers({ now: T0 });
    const stream = recordingStream(true);
    const renderer = createProgressRenderer({ stream, throttleMs: 100 });
    renderer.update([
      { issueNumber: 1, state: 'running', startedAt: T0 },
      { issueNumber: 2, state: 'running', startedAt: T0 },
    ]);
    renderer.notice('miyabi-worktree: SIGINT received: stopping every task');
    renderer.done([
      { issueNumber: 1, state: 'cancelled', startedAt: T0, endedAt: T0 + 50 },
      { issueNumber: 2, state: 'cancelled', startedAt: T0, endedAt: T0 + 50 },
    ]);
    const shown = screen(stream.chunks.join(''));
    expect(shown[0]).toBe('miyabi-worktree: SIGINT received: stopping every task');
    // Each task once, in its final state: no stale running rows left above or below.
    expect(shown.filter((line) => line.includes('#1'))).toEqual([expect.stringContaining('#1 cancelled')]);
    expect(shown.filter((line) => line.includes('#2'))).toEqual([expect.stringContaining('#2 cancelled')]);
    expect(shown.some((line) => line.includes('running') && line.includes('#'))).toBe(false);
  });

  it('keeps ticking the elapsed time while a task is active', () => {
    vi.useFakeTimers({ now: T0 });
    const stream = recordingStream(true);
    const renderer = createProgressRenderer({ stream, throttleMs: 100 });
    renderer.update([{ issueNumber: 6, state: 'running', startedAt: T0 }]);
    vi.advanceTimersByTime(2_000);
    expect(stream.text()).toContain('2.0s');
    renderer.done();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never writes to stdout in JSON mode', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const renderer = createProgressRenderer({ stream: process.stdout, isTTY: false, json: true });
    renderer.update([{ issueNumber: 1, state: 'running', startedAt: T0 }]);
    renderer.done([{ issueNumber: 1, state: 'success', startedAt: T0, endedAt: T0 + 1 }]);
    expect(write).not.toHaveBeenCalled();
  });

  it('formats one change line with the duration for final states', () => {
    expect(
      changeLine(
        { issueNumber: 9, state: 'timeout', startedAt: T0, endedAt: T0 + 1_800_000 },
        T0 + 1_800_000,
      ),
    ).toBe('2026-11-25T07:10:00Z #9 timeout (30m 00s)');
  });
});

describe('errors and JSON output', () => {
  it('prints a MiyabiError as one line with its code and hint', () => {
    const error = new MiyabiError('INVALID_ARGUMENT', '--issues "x" is not an issue number', {
      hint: 'e.g. --issues 1,2',
    });
    expect(formatError(error)).toBe(
      'error [INVALID_ARGUMENT] --issues "x" is not an issue number (hint: e.g. --issues 1,2)',
    );
    expect(formatError(new Error('boom\nsecond line'))).toBe('error: boom second line');
  });

  it('names the conflicting paths of a merge conflict on the same line', () => {
    const error = new MiyabiError('MERGE_CONFLICT', "merging 'a' into 'main' conflicts", {
      conflicts: [{ path: 'x.txt' }, { path: 'y.txt' }],
      hint: 'h',
    });
    expect(formatError(error)).toBe(
      "error [MERGE_CONFLICT] merging 'a' into 'main' conflicts: x.txt, y.txt (hint: h)",
    );
  });

  it('adds the stack and causes only when verbose', () => {
    const error = new MiyabiError('GIT_FAILED', 'git fetch failed', { cause: new Error('root cause') });
    expect(formatError(error)).not.toContain('at ');
    const verbose = formatError(error, { verbose: true });
    expect(verbose.split('\n')[0]).toBe(`error [GIT_FAILED] git fetch failed (hint: ${error.hint})`);
    expect(verbose).toContain('caused by: Error: root cause');
    expect(verbose).toMatch(/\n\s+at /);
  });

  it('maps errors to exit codes', () => {
    expect(exitCodeFor(new MiyabiError('INVALID_ARGUMENT', 'x'))).toBe(2);
    expect(exitCodeFor(new MiyabiError('INVALID_CONFIG', 'x'))).toBe(2);
    expect(exitCodeFor(new MiyabiError('NOT_A_REPOSITORY', 'x'))).toBe(2);
    expect(exitCodeFor(new MiyabiError('CANCELLED', 'x'))).toBe(130);
    expect(exitCodeFor(new MiyabiError('GIT_FAILED', 'x'))).toBe(1);
    expect(exitCodeFor(new Error('x'))).toBe(1);
  });

  it('writes JSON documents and errors as plain data', () => {
    expect(formatJson({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}\n');
    expect(errorJson(new MiyabiError('NOT_FOUND', 'no such worktree', { hint: 'h' }))).toEqual({
      error: { name: 'MiyabiError', code: 'NOT_FOUND', message: 'no such worktree', hint: 'h' },
    });
    expect(errorJson('weird')).toEqual({ error: { name: 'Error', message: 'weird' } });
  });
});
