import { BIN } from '../bin-name.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import type { CommandHandler } from './index.js';

/**
 * `logs [-f] <issue|id> [--json]`: a batch task's log (an issue's most recent task, or a worktree
 * id, also of a removed worktree). `-f` follows it while the task runs and ends when the task ends;
 * on an issue a running batch has not started yet, it waits for that task (a note on stderr).
 * `--json`: `{ ...TaskLog, text }`; with `-f`, one JSON line per chunk (`{ "text" }`), then the
 * task's `TaskLog` once it ended.
 */
const logs: CommandHandler = async ({ operands, options }, ctx) => {
  const { manager } = await openWorkspace(ctx);
  const target = String(operands[0]);
  const follow = options.follow === true;
  const json = options.json === true;
  const { stdout } = ctx.io;
  // Found first, so an unknown id is an error before anything is printed; with -f, an issue a
  // running batch has not started yet is waited for (never an earlier batch's log).
  const record = await manager.logFile(target, {
    wait: follow,
    signal: ctx.signal,
    onWait: (batchId) =>
      writeLine(ctx.io.stderr, `${BIN}: waiting for issue ${target.replace('#', '')} to start in ${batchId}`),
  });
  let text = '';
  for await (const chunk of manager.followLog(record.worktreeId, { follow, signal: ctx.signal })) {
    if (!json) stdout.write(chunk);
    else if (follow) stdout.write(`${JSON.stringify({ text: chunk })}\n`);
    else text += chunk;
  }
  if (json) {
    const final = await manager.logFile(record.worktreeId);
    stdout.write(follow ? `${JSON.stringify(final)}\n` : formatJson({ ...final, text }));
  }
  return 0;
};

export default logs;
