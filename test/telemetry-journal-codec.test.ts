import { describe, expect, it } from 'vitest';
import type { WorktreeEvent } from '../src/telemetry/events.js';
import {
  MAX_MESSAGE_CHARS,
  parseJournal,
  serializeEvent,
  serializeSeal,
} from '../src/telemetry/journal-codec.js';

const created: WorktreeEvent = {
  type: 'create-complete',
  worktreeId: 'issue-1-00000000',
  issueNumber: 1,
  timestamp: '2025-01-01T00:00:00.000Z',
  durationMs: 12,
  path: '/wt/1',
};
const started: WorktreeEvent = {
  type: 'execute-start',
  worktreeId: 'issue-1-00000000',
  timestamp: '2025-01-01T00:00:01.000Z',
};

describe('journal lines', () => {
  it('serialises an event as one line, type first, and parses it back', () => {
    const line = serializeEvent(created);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(line.startsWith('{"type":"create-complete",')).toBe(true);
    expect(parseJournal(line)).toEqual({ events: [created], skipped: 0 });
  });

  it('cuts very long error messages so a line stays one small write', () => {
    const line = serializeEvent({
      type: 'error',
      worktreeId: 'w',
      timestamp: created.timestamp,
      operation: 'execute',
      message: 'e'.repeat(100_000),
    });
    expect(line.length).toBeLessThan(MAX_MESSAGE_CHARS + 300);
  });

  it('recovers a record appended onto a torn line, and counts the torn piece as skipped', () => {
    const torn = serializeEvent(created).slice(0, 30);
    const parsed = parseJournal(`${serializeEvent(created)}${torn}${serializeEvent(started)}`);
    expect(parsed.events).toEqual([created, started]);
    expect(parsed).toMatchObject({ skipped: 1, firstSkippedLine: 2 });
  });

  it('does not mistake a quoted record start inside a message for a new record', () => {
    const tricky: WorktreeEvent = {
      type: 'error',
      worktreeId: 'w',
      timestamp: created.timestamp,
      operation: 'execute',
      message: 'output was {"type":"create-start"} and more',
    };
    expect(parseJournal(serializeEvent(tricky)).events).toEqual([tricky]);
  });

  it('stops at the first seal: later lines were appended again elsewhere by their writers', () => {
    const text = `${serializeEvent(created)}${serializeSeal()}${serializeEvent(started)}${serializeSeal()}`;
    expect(parseJournal(text)).toEqual({ events: [created], skipped: 0 });
    // A seal after a torn line still ends it.
    const afterTorn = `${serializeEvent(created).slice(0, 20)}${serializeSeal()}${serializeEvent(started)}`;
    expect(parseJournal(afterTorn)).toMatchObject({ events: [], skipped: 1 });
  });
});
