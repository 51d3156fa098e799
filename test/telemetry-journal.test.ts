import { appendFileSync, chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../src/log.js';
import type { WorktreeEventInput } from '../src/telemetry/events.js';
import { EventJournal } from '../src/telemetry/journal.js';
import { Telemetry } from '../src/telemetry/telemetry.js';
import { tempDir } from './helpers/temp-repo.js';

interface LogLine {
  level: keyof Logger;
  fields: Record<string, unknown>;
  message: string | undefined;
}

function captureLogger(): Logger & { lines: LogLine[]; warnings(): LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: keyof Logger) =>
    (fields: Record<string, unknown>, message?: string): void => {
      lines.push({ level, fields, message });
    };
  return {
    lines,
    warnings: () => lines.filter((l) => l.level === 'warn'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

/** One task's events: 1 create, 1 execution (ok or failed), 1 cleanup. */
function task(n: number, success: boolean, batchId?: string): WorktreeEventInput[] {
  const e = {
    worktreeId: `issue-${n}-abcdef01`,
    issueNumber: n,
    branch: `feature/issue-${n}`,
    ...(batchId ? { batchId } : {}),
  };
  return [
    { type: 'create-start', ...e },
    { type: 'create-complete', ...e, path: `/wt/${n}`, durationMs: 10 },
    { type: 'execute-start', ...e },
    { type: 'execute-complete', ...e, durationMs: 100, success, status: success ? 'success' : 'failed' },
    { type: 'cleanup-start', ...e },
    { type: 'cleanup-complete', ...e, durationMs: 5, archived: false, branchDeleted: true },
  ];
}

const isRoot = process.getuid?.() === 0;

describe('telemetry journal', () => {
  it('writes one JSON line per event, type first', async () => {
    const dir = join(tempDir(), 'miyabi');
    const telemetry = new Telemetry({ dir });
    for (const input of task(1, true)) telemetry.record(input);
    await telemetry.flush();
    const lines = readFileSync(join(dir, 'telemetry.jsonl'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(6);
    expect(lines.map((l) => JSON.parse(l).type)).toEqual([
      'create-start',
      'create-complete',
      'execute-start',
      'execute-complete',
      'cleanup-start',
      'cleanup-complete',
    ]);
    expect(lines.every((l) => l.startsWith('{"type":"'))).toBe(true);
    expect(telemetry.persistent).toBe(true);
  });

  it('shares one history between two Telemetry objects on the same folder', async () => {
    const dir = join(tempDir(), 'miyabi');
    const first = new Telemetry({ dir });
    const second = new Telemetry({ dir });
    for (const input of task(1, true)) first.record(input);
    for (const input of task(2, false)) second.record(input);
    await Promise.all([first.flush(), second.flush()]);
    const expected = {
      creates: 2,
      executions: 2,
      successfulExecutions: 1,
      failedExecutions: 1,
      followUpFailures: 0,
      mergeConflicts: 0,
      conflictsResolved: 0,
      pullRequests: 0,
      overlapWarnings: 0,
      overlapConflicts: 0,
      cleanups: 2,
      errors: 0,
      totalExecutionMs: 200,
      averageExecutionMs: 100,
      successRate: 50,
    };
    expect(await first.stats()).toEqual(expected);
    expect(await second.stats()).toEqual(expected);
    // A fresh object (a later process) sees it too.
    expect(await new Telemetry({ dir }).stats()).toEqual(expected);
  });

  it('skips a torn last line with one warning, and recovers an event appended after it', async () => {
    const dir = join(tempDir(), 'miyabi');
    const logger = captureLogger();
    const telemetry = new Telemetry({ dir, logger });
    for (const input of task(1, true)) telemetry.record(input);
    await telemetry.flush();
    // A crash mid-write: half a line, no newline.
    appendFileSync(join(dir, 'telemetry.jsonl'), '{"type":"execute-complete","worktreeId":"issue-9","timest');
    expect((await telemetry.stats()).executions).toBe(1);
    expect(logger.warnings()).toHaveLength(1);
    expect(logger.warnings()[0]?.fields).toMatchObject({ skippedLines: 1, firstSkippedLine: 7 });
    // The next append lands on the torn line; it is still counted.
    for (const input of task(2, true)) telemetry.record(input);
    const stats = await telemetry.stats();
    expect(stats.executions).toBe(2);
    expect(stats.creates).toBe(2);
    expect(stats.cleanups).toBe(2);
  });

  it('skips garbage and foreign JSON lines without failing', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'telemetry.jsonl'),
      [
        'not json at all',
        '{"type":"unknown-kind","worktreeId":"w","timestamp":"2025-01-01T00:00:00Z"}',
        '[1,2,3]',
        '{"type":"create-complete","worktreeId":"w","timestamp":"2025-01-01T00:00:00Z","durationMs":1,"path":"/p"}',
        '',
      ].join('\n'),
    );
    const logger = captureLogger();
    expect((await new Telemetry({ dir, logger }).stats()).creates).toBe(1);
    expect(logger.warnings()[0]?.fields).toMatchObject({ skippedLines: 3, firstSkippedLine: 1 });
  });

  it('compacts past maxJournalBytes: the raw files stay bounded and all-time stats stay exact', async () => {
    const dir = join(tempDir(), 'miyabi');
    const maxJournalBytes = 4096;
    const telemetry = new Telemetry({ dir, maxJournalBytes });
    let largest = 0;
    const tasks = 150;
    for (let n = 1; n <= tasks; n++) {
      for (const input of task(n, n % 4 !== 0, `batch-${Math.ceil(n / 10)}`)) telemetry.record(input);
      telemetry.record({
        type: 'error',
        worktreeId: `issue-${n}`,
        operation: 'merge',
        message: 'x'.repeat(50),
      });
      await telemetry.flush();
      const rawBytes = readdirSync(dir)
        .filter((name) => name.endsWith('.jsonl'))
        .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
      largest = Math.max(largest, rawBytes);
    }
    const files = readdirSync(dir).filter((name) => name.endsWith('.jsonl'));
    expect(files.length).toBeLessThanOrEqual(2);
    expect(files).toContain('telemetry.jsonl');
    // At most one rotated segment plus the active file, each about maxJournalBytes.
    expect(largest).toBeLessThan(2 * maxJournalBytes + 1024);
    const summary = JSON.parse(readFileSync(join(dir, 'telemetry-summary.json'), 'utf8'));
    expect(summary.generation).toBeGreaterThan(5);

    const expected = {
      creates: tasks,
      executions: tasks,
      successfulExecutions: 113,
      failedExecutions: 37,
      followUpFailures: 0,
      mergeConflicts: 0,
      conflictsResolved: 0,
      pullRequests: 0,
      overlapWarnings: 0,
      overlapConflicts: 0,
      cleanups: tasks,
      errors: tasks,
      totalExecutionMs: tasks * 100,
      averageExecutionMs: 100,
      successRate: (113 / 150) * 100,
    };
    expect(await telemetry.stats()).toEqual(expected);
    expect(await new Telemetry({ dir, maxJournalBytes }).stats()).toEqual(expected);
    // An early batch, long compacted, is still exact.
    expect(await telemetry.stats({ batchId: 'batch-1' })).toMatchObject({
      executions: 10,
      failedExecutions: 2,
    });
    expect(await telemetry.stats({ batchId: 'batch-15' })).toMatchObject({
      executions: 10,
      failedExecutions: 2,
    });
  });

  it('warns when a since-scope reaches into compacted history', async () => {
    const dir = tempDir();
    const logger = captureLogger();
    const telemetry = new Telemetry({ dir, logger, maxJournalBytes: 1024 });
    for (let n = 1; n <= 20; n++) for (const input of task(n, true)) telemetry.record(input);
    await telemetry.flush();
    const all = await telemetry.stats();
    const scoped = await telemetry.stats({ since: new Date(0) });
    expect(all.executions).toBe(20);
    expect(scoped.executions).toBeLessThan(20);
    expect(logger.warnings().some((w) => w.message?.includes('compacted history'))).toBe(true);
  });

  it('counts the raw journal when the summary is damaged, and moves it aside on the next compaction', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'telemetry-summary.json'), '{ "version": 1, "counts": ');
    const logger = captureLogger();
    const telemetry = new Telemetry({ dir, logger, maxJournalBytes: 1024 });
    for (const input of task(1, true)) telemetry.record(input);
    expect((await telemetry.stats()).executions).toBe(1);
    expect(logger.warnings().some((w) => w.message?.includes('summary unreadable'))).toBe(true);
    for (let n = 2; n <= 10; n++) for (const input of task(n, true)) telemetry.record(input);
    expect((await telemetry.stats()).executions).toBe(10);
    expect(readdirSync(dir).some((name) => name.startsWith('telemetry-summary.json.corrupt-'))).toBe(true);
  });

  it('degrades to memory with one warning when the folder cannot be created, and still counts', async () => {
    const parent = tempDir();
    writeFileSync(join(parent, 'a-file'), '');
    const logger = captureLogger();
    const telemetry = new Telemetry({ dir: join(parent, 'a-file', 'miyabi'), logger });
    const seen: string[] = [];
    telemetry.on('event', (e) => seen.push(e.type));
    for (const input of [...task(1, true), ...task(2, false)])
      expect(() => telemetry.record(input)).not.toThrow();
    await telemetry.flush();
    expect(seen).toHaveLength(12);
    expect(telemetry.persistent).toBe(false);
    const journalWarnings = logger.warnings().filter((w) => w.message?.includes('not writable'));
    expect(journalWarnings).toHaveLength(1);
    expect(await telemetry.stats()).toMatchObject({ creates: 2, executions: 2, successfulExecutions: 1 });
    expect(await telemetry.report()).toContain('- Executed: 2 (succeeded: 1, failed: 1)');
  });

  it.skipIf(isRoot)('degrades to memory in a read-only folder, still reading what is on disk', async () => {
    const dir = tempDir();
    const writer = new Telemetry({ dir });
    for (const input of task(1, true)) writer.record(input);
    await writer.flush();
    chmodSync(dir, 0o555);
    chmodSync(join(dir, 'telemetry.jsonl'), 0o444);
    try {
      const logger = captureLogger();
      const telemetry = new Telemetry({ dir, logger });
      for (const input of task(2, true)) telemetry.record(input);
      await telemetry.flush();
      expect(telemetry.persistent).toBe(false);
      expect(logger.warnings().filter((w) => w.message?.includes('not writable'))).toHaveLength(1);
      expect((await telemetry.stats()).executions).toBe(2);
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it('append() resolves false instead of throwing when the journal cannot be written', async () => {
    const parent = tempDir();
    writeFileSync(join(parent, 'f'), '');
    const journal = new EventJournal(join(parent, 'f', 'x'));
    const ok = await journal.append({
      type: 'create-start',
      worktreeId: 'w',
      timestamp: new Date().toISOString(),
    });
    expect(ok).toBe(false);
    expect(journal.writable).toBe(false);
    expect(await journal.snapshot()).toMatchObject({ events: [] });
  });

  it('rejects a too small maxJournalBytes', () => {
    expect(() => new Telemetry({ dir: tempDir(), maxJournalBytes: 10 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
