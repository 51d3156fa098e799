import { BIN } from '../bin-name.js';
import { openWorkspace } from '../context.js';
import { writeLine } from '../io.js';
import { formatJson } from '../render/json.js';
import { overlapLine } from '../render/overlaps.js';
import type { CommandHandler } from './index.js';

/**
 * `conflicts [--json]`: the conflict radar now, over every live worktree this tool created (those
 * a running batch holds, and those `run --keep` left): `Overlap[]` with `--json`.
 */
const conflicts: CommandHandler = async ({ options }, ctx) => {
  const { manager } = await openWorkspace(ctx);
  const overlaps = await manager.conflicts({ signal: ctx.signal });
  await manager.flush();
  const { stdout } = ctx.io;
  if (options.json === true) {
    stdout.write(formatJson(overlaps));
    return 0;
  }
  if (overlaps.length === 0) {
    writeLine(stdout, `No overlapping work among the worktrees ('${BIN} list' shows them).`);
    return 0;
  }
  for (const overlap of overlaps) {
    writeLine(stdout, `${overlapLine(overlap)}  (${overlap.a.branch} ↔ ${overlap.b.branch})`);
  }
  return 0;
};

export default conflicts;
