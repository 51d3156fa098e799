import { WORKTREE_EVENT_TYPES, type WorktreeEvent } from './events.js';

/** Error messages longer than this are cut in the journal, so every line stays one small append. */
export const MAX_MESSAGE_CHARS = 2000;

// Every line starts with this (type is serialised first). Inside a JSON string a quote is always
// escaped, so this sequence can only start a record: it is where a torn line's successor begins.
const RECORD_START = '{"type":"';

/** One journal line (with its newline): the event as JSON, `type` first, long messages cut. */
export function serializeEvent(event: WorktreeEvent): string {
  const record: WorktreeEvent =
    event.type === 'error' && typeof event.message === 'string' && event.message.length > MAX_MESSAGE_CHARS
      ? { ...event, message: `${event.message.slice(0, MAX_MESSAGE_CHARS)}…` }
      : event;
  // Insertion order is serialisation order: `type` first, then the rest as given.
  const { type, ...rest } = record;
  return `${JSON.stringify({ type, ...rest })}\n`;
}

// A compaction appends this (on a line of its own) to a rotated segment before folding it: lines
// before the first seal are counted; a writer whose line landed after it appends the line again.
const SEAL_START = '{"seal":';

/** The seal a compaction appends to a segment it folds: leading newline ends any torn line. */
export function serializeSeal(pid: number = process.pid): string {
  return `\n${JSON.stringify({ seal: new Date().toISOString(), pid })}\n`;
}

/** Character offset of the first seal line in `text`, or -1. */
export function sealOffset(text: string): number {
  if (text.startsWith(SEAL_START)) return 0;
  const at = text.indexOf(`\n${SEAL_START}`);
  return at < 0 ? -1 : at + 1;
}

/** Events read from journal text, and how many lines (or pieces of lines) were unreadable. */
export interface ParsedJournal {
  /** Events before the first seal (lines after it were appended again elsewhere by their writers). */
  readonly events: WorktreeEvent[];
  readonly skipped: number;
  /** 1-based line number of the first unreadable line. */
  readonly firstSkippedLine?: number;
}

/**
 * Parses JSON-lines journal text, tolerating damage: a line torn by a crash mid-write is skipped,
 * and when a later append was glued onto it (the torn line had no newline) that later record is
 * recovered. Lines that are valid JSON but no event are skipped too. Reading stops at a seal.
 */
export function parseJournal(text: string): ParsedJournal {
  const events: WorktreeEvent[] = [];
  let skipped = 0;
  let firstSkippedLine: number | undefined;
  const seal = sealOffset(text);
  const lines = (seal < 0 ? text : text.slice(0, seal)).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    const direct = parseRecord(line);
    if (direct) {
      events.push(direct);
      continue;
    }
    let bad = 0;
    for (const piece of splitRecords(line)) {
      const event = parseRecord(piece);
      if (event) events.push(event);
      else bad++;
    }
    if (bad > 0) {
      skipped += bad;
      firstSkippedLine ??= i + 1;
    }
  }
  return { events, skipped, ...(firstSkippedLine !== undefined ? { firstSkippedLine } : {}) };
}

/** Checks that untrusted JSON has the fields every reader relies on. */
export function toWorktreeEvent(value: unknown): WorktreeEvent | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (!WORKTREE_EVENT_TYPES.includes(record.type as WorktreeEvent['type'])) return undefined;
  if (typeof record.worktreeId !== 'string' || typeof record.timestamp !== 'string') return undefined;
  return value as WorktreeEvent;
}

function parseRecord(text: string): WorktreeEvent | undefined {
  try {
    return toWorktreeEvent(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Cuts a damaged line at every record start. */
function splitRecords(line: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (let at = line.indexOf(RECORD_START, 1); at > 0; at = line.indexOf(RECORD_START, at + 1)) {
    pieces.push(line.slice(start, at));
    start = at;
  }
  pieces.push(line.slice(start));
  return pieces;
}
