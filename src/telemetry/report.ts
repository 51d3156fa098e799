import { formatBytes } from '../core/size.js';
import { MiyabiError } from '../errors.js';
import type { EventStats, TelemetryStats } from './stats.js';

/** Languages the report is written in. */
export type TelemetryLocale = 'en' | 'ja';

/** Supported locales, default first. */
export const TELEMETRY_LOCALES: readonly TelemetryLocale[] = ['en', 'ja'];

/**
 * Validates a locale: `'en'` or `'ja'`, case-insensitive, also with a region (`'ja-JP'`, `'en_US'`).
 * Anything else is `INVALID_ARGUMENT`.
 */
export function resolveTelemetryLocale(locale: unknown = 'en'): TelemetryLocale {
  if (typeof locale === 'string') {
    const language = locale.trim().toLowerCase().split(/[-_]/)[0];
    const found = TELEMETRY_LOCALES.find((l) => l === language);
    if (found) return found;
  }
  throw new MiyabiError('INVALID_ARGUMENT', `unknown report locale ${JSON.stringify(locale)}`, {
    hint: `Use one of: ${TELEMETRY_LOCALES.join(', ')}.`,
    details: { locale, supported: TELEMETRY_LOCALES },
  });
}

/**
 * The seven-line report of `stats` (no trailing newline): English by default, or Japanese.
 * Average time in seconds with two decimals, success rate with one. "Executed" counts the tasks
 * that started; tasks cancelled before that, merge conflicts, pull requests and overlaps are extra
 * lines after the seven, only when non-zero.
 */
export function formatTelemetryReport(
  stats: EventStats & Partial<Pick<TelemetryStats, 'notStarted' | 'resources' | 'usage'>>,
  locale: TelemetryLocale = 'en',
): string {
  const lang = resolveTelemetryLocale(locale);
  const seconds = finite(stats.averageExecutionMs / 1000).toFixed(2);
  const rate = finite(stats.successRate).toFixed(1);
  const lines =
    lang === 'ja'
      ? [
          '📊 Worktree実行レポート',
          `- 作成: ${stats.creates}回`,
          `- 実行: ${stats.executions}回（成功: ${stats.successfulExecutions}, 失敗: ${stats.failedExecutions}）`,
          `- クリーンアップ: ${stats.cleanups}回`,
          `- エラー: ${stats.errors}回`,
          `- 平均実行時間: ${seconds}秒`,
          `- 成功率: ${rate}%`,
        ]
      : [
          '📊 Worktree execution report',
          `- Created: ${stats.creates}`,
          `- Executed: ${stats.executions} (succeeded: ${stats.successfulExecutions}, failed: ${stats.failedExecutions})`,
          `- Cleaned up: ${stats.cleanups}`,
          `- Errors: ${stats.errors}`,
          `- Average execution time: ${seconds}s`,
          `- Success rate: ${rate}%`,
        ];
  // Figures added after the seven lines appear only when non-zero, so the report keeps its shape.
  const notStarted = stats.notStarted ?? 0;
  if (notStarted > 0) {
    lines.push(
      lang === 'ja' ? `- 開始前に取消: ${notStarted}件` : `- Cancelled before starting: ${notStarted}`,
    );
  }
  if (stats.mergeConflicts > 0) {
    const resolved = stats.conflictsResolved;
    lines.push(
      lang === 'ja'
        ? `- マージ競合: ${stats.mergeConflicts}回${resolved > 0 ? `（解決: ${resolved}）` : ''}`
        : `- Merge conflicts: ${stats.mergeConflicts}${resolved > 0 ? ` (resolved: ${resolved})` : ''}`,
    );
  }
  const checksFailed = stats.checksFailed ?? 0;
  if (checksFailed > 0) {
    lines.push(lang === 'ja' ? `- チェック失敗: ${checksFailed}件` : `- Checks failed: ${checksFailed}`);
  }
  if (stats.variants && stats.variants.attempts > 0) {
    const { attempts, issues } = stats.variants;
    lines.push(
      lang === 'ja'
        ? `- バリアント: ${issues}件の課題に${attempts}回の試行`
        : `- Variants: ${attempts} attempts for ${issues} issue${issues === 1 ? '' : 's'}`,
    );
  }
  if (stats.pullRequests > 0) {
    lines.push(
      lang === 'ja' ? `- プルリクエスト: ${stats.pullRequests}件` : `- Pull requests: ${stats.pullRequests}`,
    );
  }
  if (stats.overlapWarnings > 0) {
    const conflicting = stats.overlapConflicts;
    lines.push(
      lang === 'ja'
        ? `- 変更の重なり: ${stats.overlapWarnings}件${conflicting > 0 ? `（競合: ${conflicting}）` : ''}`
        : `- Overlap warnings: ${stats.overlapWarnings}${conflicting > 0 ? ` (conflicting: ${conflicting})` : ''}`,
    );
  }
  lines.push(...costLines(stats, lang));
  return lines.join('\n');
}

/**
 * What the batch's tasks used — its peak memory (and whose), CPU time, tasks stopped at the memory
 * limit — when any command was measured, and the agents' tokens and cost when any reported them:
 * present only when there is something to say, like every line after the seven.
 */
function costLines(stats: Pick<TelemetryStats, 'resources' | 'usage'>, lang: TelemetryLocale): string[] {
  const lines: string[] = [];
  const { resources, usage } = stats;
  if (resources && resources.peakRssBytes > 0) {
    const peak = formatBytes(resources.peakRssBytes);
    const cpu = resources.cpuSeconds.toFixed(2);
    const limited = resources.memoryLimited;
    lines.push(
      lang === 'ja'
        ? `- 最大メモリ: ${peak}（#${resources.peakIssueNumber}）、CPU時間: ${cpu}秒${limited > 0 ? `、メモリ上限で停止: ${limited}件` : ''}`
        : `- Peak memory: ${peak} (#${resources.peakIssueNumber}), CPU time: ${cpu}s${limited > 0 ? `, stopped at the memory limit: ${limited}` : ''}`,
    );
  }
  if (usage) {
    const tokens = `${usage.inputTokens.toLocaleString('en-US')} / ${usage.outputTokens.toLocaleString('en-US')}`;
    const cost = `$${usage.costUsd.toFixed(2)}`;
    lines.push(
      lang === 'ja'
        ? `- トークン（入力 / 出力）: ${tokens}、費用: ${cost}（${usage.tasks}タスク）`
        : `- Tokens (in / out): ${tokens}, cost: ${cost} (${usage.tasks} ${usage.tasks === 1 ? 'task' : 'tasks'})`,
    );
  }
  return lines;
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
