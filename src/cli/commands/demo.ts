import { runGit } from '../../index.js';
import { BIN } from '../bin-name.js';
import type { CommandContext } from '../context.js';
import { createDemoRepository } from '../demo/demo-repo.js';
import { DEMO_PLAN } from '../demo/fake-agent.js';
import { writeBlock, writeLine } from '../io.js';
import { EXIT_INTERRUPTED } from '../render/error.js';
import { runBatch } from '../run/run-batch.js';
import type { CommandHandler } from './index.js';

const ISSUES = Object.keys(DEMO_PLAN).map(Number);
// A fixing agent needs about 1.5 s; the margin keeps it from timing out on a loaded machine.
const TIMEOUT_MS = 5_000;

/**
 * `demo`: a real `run` in a throwaway repository — five tasks at concurrency 3, one timing out and
 * one failing — merges the successful branches back safely, prints the summary and the report, and
 * deletes everything it made. Exits 0 when the batch went as planned.
 */
const demo: CommandHandler = async (_input, ctx) => {
  const { stdout } = ctx.io;
  const repo = await createDemoRepository();
  try {
    writeLine(stdout, `${BIN} demo: a throwaway repository at ${repo.path}`);
    writeLine(
      stdout,
      `Five "agents" (node tools/fake-agent.mjs {issue}) run in their own worktrees, 3 at a time,`,
    );
    writeLine(
      stdout,
      `with a ${TIMEOUT_MS / 1000}s timeout: #2 hangs (and is killed with its child), #4 fails, the rest`,
    );
    writeLine(stdout, 'commit a fix that is merged back into main without touching the main checkout.');
    writeLine(stdout);
    const demoCtx: CommandContext = {
      ...ctx,
      globals: { ...ctx.globals, cwd: repo.path, worktreeDir: undefined },
    };
    const { result, exitCode } = await runBatch(
      {
        issues: ISSUES,
        command: [process.execPath, 'tools/fake-agent.mjs', '{issue}'],
        concurrency: 3,
        timeoutMs: TIMEOUT_MS,
        failFast: false,
        keep: false,
        merge: {},
        json: false,
      },
      demoCtx,
    );
    if (exitCode === EXIT_INTERRUPTED) return exitCode;
    writeLine(stdout);
    writeLine(stdout, 'main now (git log --oneline --graph main):');
    const log = await runGit(['log', '--oneline', '--graph', '--decorate=no', 'main'], { cwd: repo.path });
    writeBlock(stdout, log.stdout.replace(/^/gm, '  '));
    const worktrees = await runGit(['worktree', 'list'], { cwd: repo.path });
    writeLine(stdout, `Worktrees left: ${worktrees.stdout.trim().split('\n').length - 1}`);
    const merged = result.results.filter(
      (r) => r.merge !== undefined && r.merge.status !== 'up-to-date',
    ).length;
    const asPlanned =
      result.successCount === 3 && result.timeoutCount === 1 && result.failedCount === 1 && merged === 3;
    writeLine(stdout);
    writeLine(
      stdout,
      asPlanned
        ? `Demo finished as planned: 3 fixes merged, 1 timeout, 1 failure. Removing ${repo.root}.`
        : `The demo did not go as planned (${merged} merged); see the summary above. Removing ${repo.root}.`,
    );
    return asPlanned ? 0 : 1;
  } finally {
    await repo.dispose();
  }
};

export default demo;
