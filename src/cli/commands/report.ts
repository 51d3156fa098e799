import { type BatchSummary, isMiyabiError, MiyabiError, type TelemetryScope } from '../../index.js';
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

/**
 * `report [--locale en|ja] [--batch ID | --all | --list] [--html FILE] [--json]`: the report of the
 * last batch (`--batch` one batch, `--all` every batch), computed from the batch records as the run's
 * summary was; `TelemetryStats` with `--json`. `--list` lists the batches (`BatchSummary[]` with
 * `--json`). A batch with no record is bad input, not an all-zero report. `--html` writes the
 * timeline page of the same batch and says where.
 */
const report: CommandHandler = async ({ options }, ctx) => {
  const locale = resolveTelemetryLocale(typeof options.locale === 'string' ? options.locale : 'en');
  const batchId = typeof options.batch === 'string' ? checkBatchId(options.batch) : undefined;
  const all = options.all === true;
  const list = options.list === true;
  checkSelection({ batch: batchId !== undefined, all, list, html: typeof options.html === 'string' });
  const scope: TelemetryScope = batchId !== undefined ? { batchId } : all ? { all } : {};
  const htmlFile =
    typeof options.html === 'string' ? await checkHtmlReportPath(options.html, '--html') : undefined;
  const { manager } = await openWorkspace(ctx);
  try {
    if (list) {
      const batches = await manager.listBatches();
      if (options.json === true) ctx.io.stdout.write(formatJson(batches));
      else writeBlock(ctx.io.stdout, await batchList(batches));
      return 0;
    }
    if (htmlFile !== undefined) {
      const written = await writeHtmlReport(manager, htmlFile, batchId).catch((error: unknown) => {
        throw asUsageError(error, batchId);
      });
      // With --json stdout holds the one JSON document; the line goes to stderr.
      writeLine(
        options.json === true ? ctx.io.stderr : ctx.io.stdout,
        `Wrote the HTML report of ${written} to ${htmlFile}`,
      );
      if (options.json !== true) return 0;
    }
    try {
      if (options.json === true) ctx.io.stdout.write(formatJson(await manager.telemetryStats(scope)));
      else writeBlock(ctx.io.stdout, await manager.telemetryReport({ locale, ...scope }));
    } catch (error) {
      throw asUsageError(error, batchId);
    }
    return 0;
  } finally {
    await manager.flush();
  }
};

/** `--batch`, `--all` and `--list` each choose what to show: one at a time; `--html` shows one batch. */
function checkSelection(chosen: { batch: boolean; all: boolean; list: boolean; html: boolean }): void {
  const given = (['batch', 'all', 'list'] as const).filter((key) => chosen[key]).map((key) => `--${key}`);
  if (given.length > 1) {
    throw new MiyabiError('INVALID_ARGUMENT', `${given.join(' and ')} cannot be combined`, {
      hint: `Use '${BIN} report' for the last batch, --batch ID for one, --all for every batch, --list to list them.`,
    });
  }
  if (chosen.html && (chosen.all || chosen.list)) {
    throw new MiyabiError('INVALID_ARGUMENT', `--html draws one batch and cannot go with ${given[0]}`, {
      hint: `Use '${BIN} report --html FILE' for the last batch, or add --batch ID ('${BIN} report --list' lists them).`,
    });
  }
}

/** `--batch` as typed, when it can be a batch id. */
function checkBatchId(value: string): string {
  if (BATCH_ID.test(value)) return value;
  throw new MiyabiError('INVALID_ARGUMENT', `--batch: ${JSON.stringify(value)} is not a batch id`, {
    hint: `Batch ids look like batch-m3k9x2a1-4f2c1e; '${BIN} report --list' lists them.`,
  });
}

/** The library's `NOT_FOUND` for a batch, as the CLI says it: `--batch` named no recorded batch (exit 2). */
function asUsageError(error: unknown, batchId: string | undefined): unknown {
  if (!isMiyabiError(error, 'NOT_FOUND')) return error;
  if (batchId === undefined) return noBatchYet();
  const recent = error.details?.recentBatches;
  const listed =
    Array.isArray(recent) && recent.length > 0
      ? `recent batches: ${recent.join(', ')}`
      : 'no batch has been recorded yet';
  return new MiyabiError(
    'INVALID_ARGUMENT',
    `--batch: no batch '${batchId}' is recorded in this repository`,
    {
      hint: `Run '${BIN} report --list' for every batch; ${listed}.`,
      cause: error,
      ...(error.details ? { details: error.details } : {}),
    },
  );
}

function noBatchYet(): MiyabiError {
  return new MiyabiError('NOT_FOUND', 'no batch has been recorded in this repository yet', {
    hint: `Run a batch first: ${BIN} run --issues 1,2 -- <command>.`,
  });
}

/** The batches as a table, oldest first (the table's text-width libraries load only here). */
async function batchList(batches: readonly BatchSummary[]): Promise<string> {
  if (batches.length === 0) return `No batch has been recorded yet: ${BIN} run starts one.`;
  const { renderTable } = await import('../render/table.js');
  return renderTable(batches, [
    { header: 'BATCH', value: (b) => b.id },
    { header: 'STARTED', value: (b) => b.startedAt.replace(/\.\d+Z$/, 'Z') },
    { header: 'TASKS', value: (b) => b.tasks, align: 'right' },
    { header: 'OUTCOME', value: (b) => b.outcome },
    {
      header: 'COUNTS',
      value: (b) =>
        [
          `${b.succeeded} succeeded`,
          ...(b.failed > 0 ? [`${b.failed} failed`] : []),
          ...(b.notStarted > 0 ? [`${b.notStarted} cancelled before starting`] : []),
        ].join(' · '),
    },
  ]);
}

export default report;
