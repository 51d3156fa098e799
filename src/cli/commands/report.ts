import { MiyabiError, type WorktreeManager } from '../../index.js';
import { resolveTelemetryLocale } from '../../internal.js';
import { BIN } from '../bin-name.js';
import { openWorkspace } from '../context.js';
import { writeHtmlReport } from '../html-report.js';
import { checkHtmlReportPath } from '../html-report-path.js';
import { writeBlock, writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

// What the pool names batches (`batch-<time>-<hex>`), and never a path: no `/`, `\`, nor a leading dot.
const BATCH_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

// Batch ids named in the hint when the one asked for is unknown.
const HINTED_BATCHES = 5;

/**
 * `report [--locale en|ja] [--batch ID] [--html FILE] [--json]`: the telemetry report of every
 * process's history of this repository (or one batch); `TelemetryStats` with `--json`. A batch the
 * journal does not know is bad input, not an all-zero report. `--html` writes the timeline page of
 * one batch (`--batch`, else the last one) and says where.
 */
const report: CommandHandler = async ({ options }, ctx) => {
  const locale = resolveTelemetryLocale(typeof options.locale === 'string' ? options.locale : 'en');
  const batchId = typeof options.batch === 'string' ? checkBatchId(options.batch) : undefined;
  const scope = batchId !== undefined ? { batchId } : {};
  const htmlFile =
    typeof options.html === 'string' ? await checkHtmlReportPath(options.html, '--html') : undefined;
  const { manager } = await openWorkspace(ctx);
  try {
    if (batchId !== undefined) await checkKnownBatch(manager, batchId);
    if (htmlFile !== undefined) {
      const written = await writeHtmlReport(manager, htmlFile, batchId);
      // With --json stdout holds the one JSON document; the line goes to stderr.
      writeLine(
        options.json === true ? ctx.io.stderr : ctx.io.stdout,
        `Wrote the HTML report of ${written} to ${htmlFile}`,
      );
      if (options.json !== true) return 0;
    }
    if (options.json === true) ctx.io.stdout.write(formatJson(await manager.telemetryStats(scope)));
    else writeBlock(ctx.io.stdout, await manager.telemetryReport({ locale, ...scope }));
    return 0;
  } finally {
    await manager.flush();
  }
};

/** `--batch` as typed, when it can be a batch id. */
function checkBatchId(value: string): string {
  if (BATCH_ID.test(value)) return value;
  throw new MiyabiError('INVALID_ARGUMENT', `--batch: ${JSON.stringify(value)} is not a batch id`, {
    hint: 'Batch ids look like batch-m3k9x2a1-4f2c1e; each run prints its own at the end of its summary.',
  });
}

/** Refuses a batch id that no event of the telemetry journal carries, naming the recent ones. */
async function checkKnownBatch(manager: WorktreeManager, batchId: string): Promise<void> {
  const known = await manager.telemetryBatches();
  if (known.includes(batchId)) return;
  const recent = known.slice(-HINTED_BATCHES).reverse();
  const listed =
    recent.length > 0 ? `recent batches: ${recent.join(', ')}` : 'no batch has been recorded yet';
  throw new MiyabiError('INVALID_ARGUMENT', `--batch: the telemetry journal has no batch '${batchId}'`, {
    hint: `Run '${BIN} report' without --batch for every run; ${listed}.`,
    details: { batchId, recentBatches: recent },
  });
}

export default report;
