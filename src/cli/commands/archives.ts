import {
  type ArchiveEntry,
  isMiyabiError,
  MAX_AGE_MS,
  MiyabiError,
  type WorktreeManager,
} from '../../index.js';
import { BIN } from '../bin-name.js';
import { type CommandContext, openWorkspace } from '../context.js';
import { writeBlock, writeLine } from '../io.js';
import { parseDurationFlag } from '../parse-duration-flag.js';
import { formatJson } from '../render/json.js';
import { renderTable } from '../render/table.js';
import type { CommandHandler, CommandInput } from './index.js';

const ACTIONS = ['list', 'drop', 'prune'] as const;
type Action = (typeof ACTIONS)[number];

/**
 * `archives [list] [--json]`, `archives drop <id> [--force] [--json]`,
 * `archives prune (--merged | --older-than D) [--force] [--dry-run] [--json]`: the archives of
 * removed worktrees. Dropping one that is the only place of some work needs `--force`; `prune`
 * keeps (and names) such archives unless `--force`. Bad usage exits 2 before anything is read.
 */
const archives: CommandHandler = async (input, ctx) => {
  const request = parseRequest(input);
  const { manager } = await openWorkspace(ctx);
  try {
    if (request.action === 'list') return await list(manager, request.json, ctx);
    if (request.action === 'drop') return await drop(manager, request, ctx);
    return await prune(manager, request, ctx);
  } finally {
    await manager.flush();
  }
};

interface ArchivesRequest {
  readonly action: Action;
  readonly id: string | undefined;
  readonly merged: boolean;
  readonly olderThanMs: number | undefined;
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
}

/** The action and its flags, checked: each flag only where it means something. */
function parseRequest({ operands, options }: CommandInput): ArchivesRequest {
  const actionText = typeof operands[0] === 'string' ? operands[0] : 'list';
  if (!(ACTIONS as readonly string[]).includes(actionText)) {
    throw usage(
      `archives: unknown action ${JSON.stringify(actionText)}`,
      `Use one of: ${ACTIONS.join(', ')}.`,
    );
  }
  const action = actionText as Action;
  const id = typeof operands[1] === 'string' ? operands[1].trim() : undefined;
  const merged = options.merged === true;
  const olderThanMs =
    typeof options.olderThan === 'string'
      ? parseDurationFlag(options.olderThan, '--older-than', { maxMs: MAX_AGE_MS })
      : undefined;
  const force = options.force === true;
  const dryRun = options.dryRun === true;
  if (action === 'drop' && (id === undefined || id === '')) {
    throw usage('archives drop needs the id of an archive', `'${BIN} archives' lists them.`);
  }
  if (action !== 'drop' && id !== undefined) {
    throw usage(
      `archives ${action} takes no id (got ${JSON.stringify(id)})`,
      `Did you mean '${BIN} archives drop ${id}'?`,
    );
  }
  if (action !== 'prune' && (merged || olderThanMs !== undefined || dryRun)) {
    throw usage(
      `--merged, --older-than and --dry-run only apply to 'archives prune'`,
      `e.g. ${BIN} archives prune --merged`,
    );
  }
  if (action === 'prune' && !merged && olderThanMs === undefined) {
    throw usage(
      'archives prune needs --merged or --older-than',
      `e.g. ${BIN} archives prune --merged --older-than 30d`,
    );
  }
  if (action === 'list' && force)
    throw usage("--force only applies to 'archives drop' and 'archives prune'", 'Drop --force.');
  return { action, id, merged, olderThanMs, force, dryRun, json: options.json === true };
}

function usage(message: string, hint: string): MiyabiError {
  return new MiyabiError('INVALID_ARGUMENT', message, { hint });
}

async function list(manager: WorktreeManager, json: boolean, ctx: CommandContext): Promise<number> {
  const entries = await manager.listArchives({ signal: ctx.signal });
  const { stdout } = ctx.io;
  if (json) {
    stdout.write(formatJson(entries));
    return 0;
  }
  if (entries.length === 0) {
    writeLine(stdout, 'No archives.');
    return 0;
  }
  writeBlock(stdout, archiveTable(entries));
  const unmerged = entries.filter((entry) => entry.unmerged).length;
  writeLine(
    stdout,
    `${entries.length} archive(s), ${unmerged} holding work found nowhere else. ` +
      `Bring one back with '${BIN} restore <id>'; '${BIN} archives prune --merged' drops the others.`,
  );
  return 0;
}

function archiveTable(entries: readonly ArchiveEntry[]): string {
  return renderTable(entries, [
    { header: 'ID', value: (a) => a.id },
    { header: 'BRANCH', value: (a) => a.branchName ?? '' },
    { header: 'UNCOMMITTED', value: (a) => a.uncommittedPaths.length, align: 'right' },
    { header: 'UNMERGED', value: (a) => a.unmergedCommits, align: 'right' },
    { header: 'WORK', value: (a) => (a.unmerged ? 'only here' : 'merged') },
    { header: 'ARCHIVED', value: (a) => a.archivedAt },
  ]);
}

async function drop(
  manager: WorktreeManager,
  request: ArchivesRequest,
  ctx: CommandContext,
): Promise<number> {
  const id = request.id ?? '';
  const result = await manager
    .dropArchive(id, { force: request.force, signal: ctx.signal })
    .catch((error: unknown) => {
      if (!isMiyabiError(error, 'UNMERGED_WORK')) throw error;
      throw new MiyabiError('UNMERGED_WORK', error.message, {
        hint: `Bring it back with '${BIN} restore ${id}' and merge or push what you want, or add --force to drop it anyway.`,
        cause: error,
        ...(error.details ? { details: error.details } : {}),
      });
    });
  if (request.json) ctx.io.stdout.write(formatJson(result));
  else
    writeLine(
      ctx.io.stdout,
      `Dropped ${result.ref} (was ${result.commit}; git update-ref ${result.ref} ${result.commit} brings it back until git prunes it)`,
    );
  return 0;
}

async function prune(
  manager: WorktreeManager,
  request: ArchivesRequest,
  ctx: CommandContext,
): Promise<number> {
  const result = await manager.pruneArchives({
    merged: request.merged,
    force: request.force,
    dryRun: request.dryRun,
    signal: ctx.signal,
    ...(request.olderThanMs !== undefined ? { olderThan: request.olderThanMs } : {}),
  });
  const { stdout } = ctx.io;
  if (request.json) {
    stdout.write(formatJson(result));
    return 0;
  }
  const verb = request.dryRun ? 'would drop' : 'dropped';
  for (const entry of result.dropped)
    writeLine(stdout, `${verb} ${entry.id} (${entry.ref} at ${entry.commit})`);
  for (const entry of result.kept) writeLine(stdout, `kept ${entry.id}: ${entry.reason}`);
  writeLine(
    stdout,
    `${request.dryRun ? 'Dry run: would drop' : 'Dropped'} ${result.dropped.length} archive(s), kept ${result.kept.length}.`,
  );
  return 0;
}

export default archives;
