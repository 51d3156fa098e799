import { describe, expect, it } from 'vitest';
import { isMiyabiError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import type { WorktreeEvent } from '../src/telemetry/events.js';
import { Telemetry } from '../src/telemetry/telemetry.js';

interface LogLine {
  level: keyof Logger;
  fields: Record<string, unknown>;
  message: string | undefined;
}

function captureLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: keyof Logger) =>
    (fields: Record<string, unknown>, message?: string): void => {
      lines.push({ level, fields, message });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const base = { worktreeId: 'issue-7-0a1b2c3d', issueNumber: 7, branch: 'feature/issue-7' };

function recordLifecycle(telemetry: Telemetry): void {
  telemetry.record({ type: 'create-start', ...base });
  telemetry.record({ type: 'create-complete', ...base, path: '/tmp/wt', durationMs: 40 });
  telemetry.record({ type: 'execute-start', ...base });
  telemetry.record({ type: 'execute-complete', ...base, durationMs: 1200, success: true, status: 'success' });
  telemetry.record({ type: 'cleanup-start', ...base });
  telemetry.record({
    type: 'cleanup-complete',
    ...base,
    durationMs: 30,
    archived: false,
    branchDeleted: true,
  });
}

describe('Telemetry events', () => {
  it('emits every lifecycle event to listeners, in order, stamped with timestamp and pid', () => {
    const telemetry = new Telemetry();
    const seen: WorktreeEvent[] = [];
    telemetry.on('event', (event) => seen.push(event));
    recordLifecycle(telemetry);
    expect(seen.map((e) => e.type)).toEqual([
      'create-start',
      'create-complete',
      'execute-start',
      'execute-complete',
      'cleanup-start',
      'cleanup-complete',
    ]);
    for (const event of seen) {
      expect(event.worktreeId).toBe(base.worktreeId);
      expect(event.issueNumber).toBe(7);
      expect(new Date(event.timestamp).toISOString()).toBe(event.timestamp);
      expect(event.pid).toBe(process.pid);
      expect(Object.isFrozen(event)).toBe(true);
    }
  });

  it('returns the stored event from record()', () => {
    const telemetry = new Telemetry();
    const event = telemetry.record({
      type: 'execute-start',
      ...base,
      batchId: 'b1',
      timestamp: '2025-01-01T00:00:00.000Z',
    });
    expect(event).toEqual({
      type: 'execute-start',
      ...base,
      batchId: 'b1',
      timestamp: '2025-01-01T00:00:00.000Z',
      pid: process.pid,
    });
  });

  it('keeps recording when a listener throws or rejects, and logs a warning for each', async () => {
    const logger = captureLogger();
    const telemetry = new Telemetry({ logger });
    const seen: string[] = [];
    telemetry.on('event', () => {
      throw new Error('listener bug');
    });
    telemetry.on('event', async () => {
      throw new Error('async listener bug');
    });
    telemetry.on('event', (event) => {
      seen.push(event.type);
    });
    expect(() => recordLifecycle(telemetry)).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(6);
    const warnings = logger.lines.filter((l) => l.level === 'warn' && l.message?.includes('listener'));
    expect(warnings).toHaveLength(12);
    expect(warnings[0]?.fields).toMatchObject({ event: 'create-start', err: 'listener bug' });
    expect((await telemetry.stats()).executions).toBe(1);
  });

  it('once() fires a single time and off() unsubscribes', () => {
    const telemetry = new Telemetry();
    const once: string[] = [];
    const always: string[] = [];
    const listener = (event: WorktreeEvent) => always.push(event.type);
    telemetry.once('event', (event) => once.push(event.type));
    telemetry.on('event', listener);
    telemetry.record({ type: 'create-start', ...base });
    telemetry.off('event', listener);
    telemetry.record({ type: 'execute-start', ...base });
    expect(once).toEqual(['create-start']);
    expect(always).toEqual(['create-start']);
  });

  it('off() also removes a listener added with once()', () => {
    const telemetry = new Telemetry();
    const seen: string[] = [];
    const listener = (event: WorktreeEvent) => seen.push(event.type);
    telemetry.once('event', listener);
    telemetry.off('event', listener);
    telemetry.record({ type: 'create-start', ...base });
    expect(seen).toEqual([]);
  });

  it('refuses an unknown event name or a non-function listener with INVALID_ARGUMENT', () => {
    const telemetry = new Telemetry();
    const wrongName = () => telemetry.on('created' as 'event', () => {});
    const notAFunction = () => telemetry.on('event', 42 as unknown as () => void);
    expect(wrongName).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(notAFunction).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    try {
      telemetry.record({ type: 'created', worktreeId: 'x' } as never);
      expect.unreachable();
    } catch (error) {
      expect(isMiyabiError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('logs one structured line per step with worktreeId, branch, issueNumber and durationMs', () => {
    const logger = captureLogger();
    const telemetry = new Telemetry({ logger });
    recordLifecycle(telemetry);
    telemetry.record({
      type: 'error',
      ...base,
      operation: 'execute',
      code: 'TIMEOUT',
      message: 'took too long',
      durationMs: 5,
    });
    expect(logger.lines).toHaveLength(7);
    expect(logger.lines.slice(0, 6).every((l) => l.level === 'info')).toBe(true);
    expect(logger.lines[1]?.fields).toEqual({
      event: 'create-complete',
      worktreeId: base.worktreeId,
      branch: base.branch,
      issueNumber: 7,
      durationMs: 40,
      path: '/tmp/wt',
    });
    expect(logger.lines[3]?.fields).toMatchObject({ durationMs: 1200, success: true, status: 'success' });
    expect(logger.lines[6]).toMatchObject({
      level: 'warn',
      fields: {
        event: 'error',
        worktreeId: base.worktreeId,
        operation: 'execute',
        code: 'TIMEOUT',
        err: 'took too long',
      },
    });
  });

  it('survives a logger that throws', async () => {
    const broken: Logger = {
      debug: () => {
        throw new Error('x');
      },
      info: () => {
        throw new Error('x');
      },
      warn: () => {
        throw new Error('x');
      },
      error: () => {
        throw new Error('x');
      },
    };
    const telemetry = new Telemetry({ logger: broken });
    telemetry.on('event', () => {
      throw new Error('listener');
    });
    expect(() => recordLifecycle(telemetry)).not.toThrow();
    expect((await telemetry.stats()).creates).toBe(1);
  });
});
