import { resolveTelemetryLocale } from '../../telemetry/report.js';
import { openWorkspace } from '../context.js';
import { writeBlock } from '../io.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

/**
 * `report [--locale en|ja] [--batch ID] [--json]`: the telemetry report of every process's history
 * of this repository (or one batch); `TelemetryStats` with `--json`.
 */
const report: CommandHandler = async ({ options }, ctx) => {
  const locale = resolveTelemetryLocale(typeof options.locale === 'string' ? options.locale : 'en');
  const scope = typeof options.batch === 'string' ? { batchId: options.batch } : {};
  const { manager } = await openWorkspace(ctx);
  try {
    if (options.json === true) ctx.io.stdout.write(formatJson(await manager.telemetryStats(scope)));
    else writeBlock(ctx.io.stdout, await manager.telemetryReport({ locale, ...scope }));
    return 0;
  } finally {
    await manager.flush();
  }
};

export default report;
