import { appendFile, readFile, truncate } from 'node:fs/promises';
import { MiyabiError } from '../errors.js';
import type { CheckSpec } from '../process/check-command.js';
import { lastLines } from '../process/last-lines.js';
import { runCommand } from '../process/run-command.js';
import { openLogFile } from '../state/log-file.js';

/** How one run of the check ended. */
export interface CheckRun {
  readonly ok: boolean;
  /** null when killed (its timeout, or an abort). */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** The last lines of its output, joined on one line. */
  readonly lastLines: string;
  /** The file holding this run's whole output. */
  readonly checkLog: string;
}

/**
 * Runs the check (no shell, its own process group, killed whole at its timeout) in `cwd`; its
 * output goes to `checkLog` (rewritten for each run) and is then appended to the task's log.
 * A failing check is a result, not an exception; a missing program is `COMMAND_NOT_FOUND`.
 */
export async function runCheck(
  check: CheckSpec,
  options: {
    readonly cwd: string;
    readonly env: Readonly<Record<string, string>>;
    readonly checkLog: string;
    readonly logFile?: string | undefined;
    /** Said in the task log above the output, e.g. "on top of main: 3f2a…". */
    readonly title: string;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<CheckRun> {
  await openLogFile(options.checkLog);
  // One file per landing: a retry's output replaces the last run's (the task log keeps all).
  await truncate(options.checkLog);
  const result = await runCommand(check.command, {
    cwd: options.cwd,
    env: options.env,
    timeoutMs: check.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    output: { file: options.checkLog },
  });
  if (result.aborted) {
    throw new MiyabiError('CANCELLED', `the check was stopped: ${check.command.join(' ')}`, {
      cause: options.signal?.reason,
    });
  }
  if (options.logFile) {
    const output = await readFile(options.checkLog, 'utf8').catch(() => '');
    const verdict = result.ok
      ? 'passed'
      : result.timedOut
        ? `timed out after ${check.timeoutMs} ms`
        : `failed (exit ${result.exitCode})`;
    await appendFile(
      options.logFile,
      `# check ${options.title}: $ ${check.command.join(' ')}\n${output}${output.endsWith('\n') || output === '' ? '' : '\n'}# check ${verdict} in ${result.durationMs} ms (${options.checkLog})\n`,
    );
  }
  return {
    ok: result.ok,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
    lastLines: lastLines(result.tail),
    checkLog: options.checkLog,
  };
}
