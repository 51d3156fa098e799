import { open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, safeLog } from '../log.js';
import { loadWriteFileAtomic } from '../state/lazy-modules.js';
import type { WorktreeEvent } from './events.js';
import { parseJournal, serializeSeal } from './journal-codec.js';
import {
  ACTIVE_FILE,
  isMissing,
  listSegments,
  readTextIfExists,
  readWhole,
  SUMMARY_FILE,
  segmentFile,
} from './journal-files.js';
import { EMPTY_SUMMARY, foldIntoSummary, type JournalSummary, parseSummary } from './journal-summary.js';

/**
 * One compaction step; the caller must hold the journal lock. When the active file has reached
 * `maxBytes` (or `force` and it is not empty):
 * 1. every older segment is sealed, folded into the summary (written atomically), then deleted;
 * 2. the active file is renamed to the next segment, and appenders start a new one.
 * So the raw history is the last segment plus the active file, and all-time counts stay exact.
 * A crash between the steps is harmless: segments up to `foldedThrough` are ignored and deleted later.
 *
 * The seal makes folding exact although appenders take no lock: a process that opened the active
 * file just before it was rotated may write into the segment late. Its line lies either before the
 * seal (folded) or after it, and then that writer sees it and appends the line again to the active
 * file (see `EventJournal.append`). The fold counts exactly the lines before the first seal.
 * Returns whether it rotated.
 */
export async function compactJournal(
  dir: string,
  options: { readonly maxBytes: number; readonly force: boolean; readonly logger: Logger },
): Promise<boolean> {
  const size = await fileSize(join(dir, ACTIVE_FILE));
  if (size === 0 || (!options.force && size < options.maxBytes)) return false;

  let summary = await summaryForRewrite(dir, options.logger);
  const segments = await listSegments(dir);
  const obsolete = segments.filter((n) => n <= summary.foldedThrough);
  const toFold = segments.filter((n) => n > summary.foldedThrough);
  if (toFold.length > 0) {
    const events: WorktreeEvent[] = [];
    for (const n of toFold) {
      const parsed = parseJournal(await sealAndRead(join(dir, segmentFile(n))));
      if (parsed.skipped > 0) {
        safeLog(
          options.logger,
          'warn',
          {
            file: join(dir, segmentFile(n)),
            skippedLines: parsed.skipped,
            firstSkippedLine: parsed.firstSkippedLine,
          },
          'telemetry journal: skipped unreadable lines while compacting',
        );
      }
      events.push(...parsed.events);
    }
    summary = foldIntoSummary(summary, events, Math.max(...toFold));
    const writeFileAtomic = await loadWriteFileAtomic();
    await writeFileAtomic(join(dir, SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`, { mode: 0o644 });
  }
  // Only after the summary holds their counts may the raw segments go.
  for (const n of [...obsolete, ...toFold]) await unlinkIfExists(join(dir, segmentFile(n)));
  const next = Math.max(summary.foldedThrough, ...segments) + 1;
  await rename(join(dir, ACTIVE_FILE), join(dir, segmentFile(next)));
  return true;
}

/** The summary to build on; a damaged one is moved aside (kept for a person) and counting restarts. */
async function summaryForRewrite(dir: string, logger: Logger): Promise<JournalSummary> {
  const text = await readTextIfExists(dir, SUMMARY_FILE);
  if (text === undefined) return EMPTY_SUMMARY;
  const summary = parseSummary(text);
  if (summary) return summary;
  const aside = join(dir, `${SUMMARY_FILE}.corrupt-${Date.now()}`);
  await rename(join(dir, SUMMARY_FILE), aside);
  safeLog(
    logger,
    'warn',
    { file: join(dir, SUMMARY_FILE), movedTo: aside },
    'telemetry summary unreadable; moved aside',
  );
  return EMPTY_SUMMARY;
}

/** Appends a seal to a segment and returns its text (including any late lines and the seal). */
async function sealAndRead(file: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'a+', 0o644);
  } catch (error) {
    if (isMissing(error)) return '';
    throw error;
  }
  try {
    const seal = Buffer.from(serializeSeal(), 'utf8');
    await handle.write(seal, 0, seal.length);
    return await readWhole(handle);
  } finally {
    await handle.close();
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if (isMissing(error)) return 0;
    throw error;
  }
}

async function unlinkIfExists(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}
