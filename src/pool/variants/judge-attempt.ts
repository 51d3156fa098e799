import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { attemptName } from '../../core/attempt.js';
import { runGit } from '../../git/run-git.js';
import type { CheckSpec } from '../../process/check-command.js';
import { runCommand } from '../../process/run-command.js';
import { runCheck } from '../../setup/run-check.js';
import { formatArgv } from '../../setup/run-setup.js';
import type { TaskResult } from '../types.js';

/** What the gate and the score said of one attempt that succeeded. */
export interface Judgement {
  /** Absent when no check ran. */
  readonly checkPassed?: boolean;
  readonly checkError?: { readonly message: string; readonly code: string };
  readonly score?: number;
  readonly changedLines?: number;
}

/**
 * Judges a successful attempt in its kept worktree: the check on its branch (the gate: failing it,
 * the attempt cannot win), then, when it passed, the score command (no shell; its last line of
 * output a number 0–100, else no score, said in the log), and the lines it changed since its base.
 */
export async function judgeAttempt(
  result: TaskResult,
  settings: {
    readonly check: CheckSpec | undefined;
    readonly score: CheckSpec | undefined;
    readonly logDir: string;
    readonly batchId: string;
    readonly env: Readonly<Record<string, string>>;
    readonly signal: AbortSignal;
  },
): Promise<Judgement> {
  const cwd = result.worktreePath;
  if (result.status !== 'success' || cwd === undefined) return {};
  const changedLines = await countChangedLines(cwd, result.baseCommit);
  const logFile = result.logFile;
  let checkPassed: boolean | undefined;
  if (settings.check) {
    const run = await runCheck(settings.check, {
      cwd,
      env: settings.env,
      checkLog: join(settings.logDir, settings.batchId, `${attemptName(result)}.gate.log`),
      logFile,
      title: `the variants' gate, on its branch ${result.branchName ?? ''}`,
      signal: settings.signal,
    });
    checkPassed = run.ok;
    if (!run.ok) {
      const how = run.timedOut ? 'timed out' : `exited with code ${run.exitCode}`;
      return {
        checkPassed,
        changedLines,
        checkError: {
          message: `the check ${how} on the variant's branch${run.lastLines ? `: ${run.lastLines}` : ''}`,
          code: 'CHECK_FAILED',
        },
      };
    }
  }
  if (!settings.score) return { ...(checkPassed !== undefined ? { checkPassed } : {}), changedLines };
  if (logFile) await appendFile(logFile, `# score: $ ${formatArgv(settings.score.command)}\n`);
  const run = await runCommand(settings.score.command, {
    cwd,
    env: settings.env,
    timeoutMs: settings.score.timeoutMs,
    signal: settings.signal,
    ...(logFile ? { output: { file: logFile } } : {}),
  });
  const score = run.ok ? scoreOf(run.tail) : undefined;
  if (logFile) {
    const said =
      score !== undefined
        ? `# score: ${score}\n`
        : run.ok
          ? '# score: none (its last line was not a number from 0 to 100): this variant has no score\n'
          : `# score: none (the score command ${run.exitCode === null ? 'was killed' : `exited with code ${run.exitCode}`}): this variant has no score\n`;
    await appendFile(logFile, said);
  }
  return {
    ...(checkPassed !== undefined ? { checkPassed } : {}),
    ...(score !== undefined ? { score } : {}),
    changedLines,
  };
}

/** The last non-empty line of `output` as a score (0–100), else undefined. */
export function scoreOf(output: string): number | undefined {
  const last = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .at(-1);
  if (last === undefined || !/^[+]?\d+(?:\.\d+)?$/.test(last)) return undefined;
  const score = Number(last);
  return score >= 0 && score <= 100 ? score : undefined;
}

/** Lines added and deleted on the attempt's branch since its base (binary files count none). */
async function countChangedLines(cwd: string, base: string | undefined): Promise<number | undefined> {
  if (base === undefined) return undefined;
  const diff = await runGit(['diff', '--numstat', base, 'HEAD'], { cwd }).catch(() => undefined);
  if (!diff) return undefined;
  let total = 0;
  for (const line of diff.stdout.split('\n')) {
    const [added, deleted] = line.split('\t');
    total += (Number(added) || 0) + (Number(deleted) || 0);
  }
  return total;
}
