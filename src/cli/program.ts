import { Command, CommanderError } from 'commander';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_PAUSE_MAX_MS,
  DEFAULT_RADAR_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  MAX_CONCURRENCY,
} from '../index.js';
import { BIN } from './bin-name.js';
import type { CommandName } from './commands/index.js';
import { readVersion } from './version.js';

const EXAMPLES = `
Examples:
  $ ${BIN} demo                                   # a self-contained tour in a throwaway repository
  $ ${BIN} run --issues 1,2,5-8 -- claude -p "Fix issue #{issue}"
  $ ${BIN} run --issues 3,4 --timeout 20m --merge -- npm test
  $ ${BIN} create 42 --json | jq -r .path
  $ ${BIN} status
  $ ${BIN} merge 42 --squash
  $ ${BIN} remove 42            # uncommitted work is archived first; see: ${BIN} restore <id>
  $ ${BIN} cleanup --dry-run
  $ ${BIN} cleanup --merged --older-than 7d
  $ ${BIN} archives prune --merged

Exit codes: 0 success, 1 a task or operation failed, 2 bad usage or input, 130 interrupted.
`;

const RUN_EXAMPLES = `
Placeholders in <command> arguments: {issue} {branch} {path} {id}; from GitHub also {title} {body} {url} {labels}
Environment of <command>: MIYABI_ISSUE_NUMBER MIYABI_BRANCH MIYABI_WORKTREE_PATH MIYABI_WORKTREE_ID MIYABI_BATCH_ID;
from GitHub also MIYABI_ISSUE_TITLE MIYABI_ISSUE_BODY (cut to 16 KiB) MIYABI_ISSUE_URL MIYABI_ISSUE_LABELS MIYABI_ISSUE_FILE (whole body)
Token: GITHUB_TOKEN, GH_TOKEN, or \`gh auth token\`

Examples:
  $ ${BIN} run --issues 1,2,3 -- npm test
  $ ${BIN} run --issues 5-8 --concurrency 4 --timeout 30m --merge -- claude -p "Resolve issue #{issue}"
  $ ${BIN} run --issues 12 --keep -- node scripts/agent.js --branch {branch}
  $ ${BIN} run --issues 1,2 --json -- make check > batch.json
  $ ${BIN} run --github --label ready --pr -- claude -p "Fix #{issue}: {title}. Details in $MIYABI_ISSUE_FILE"

Exit codes: 0 every task succeeded, 1 a task failed or timed out (or a merge/push failed),
2 bad usage or input (nothing was started), 130 interrupted (everything stopped and cleaned up).
`;

/** A commander program for the CLI, with every command lazily loaded. */
export interface CliProgram {
  /** Parses `argv` (without `node` and the script), runs the command and sets `process.exitCode`. */
  run(argv: readonly string[]): Promise<void>;
}

/** Builds the `miyabi-worktree` program. Importing this module loads commander only. */
export function buildProgram(): CliProgram {
  const program = new Command(BIN)
    .description('Create, run and clean up git worktrees so many tasks work on one repository in parallel.')
    .version(readVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .option('-C, --cwd <dir>', 'run as if started in <dir>')
    .option(
      '--worktree-dir <dir>',
      'folder for worktrees (default: config worktreeDir, else ../<repo folder>.worktrees)',
    )
    .option('--verbose', 'show stack traces and git output on errors')
    .option('--log-json', 'write structured JSON logs (pino) to stderr')
    .exitOverride()
    .configureOutput({ outputError: () => {} }) // Errors are printed once, in our own format.
    .showSuggestionAfterError()
    .addHelpText('after', EXAMPLES);

  program
    .command('create')
    .description('create a worktree for an issue (copies .worktreeinclude files, runs setup)')
    .argument('<issue>', 'issue number')
    .option('--base <branch>', 'branch to start from (default: config baseBranch, origin/HEAD, main, master)')
    .option('--branch <name>', 'branch name (default: config branchPattern, feature/issue-<n>)')
    .option('--no-setup', 'skip .worktreeinclude copying and setup commands')
    .option('--json', 'print the WorktreeInfo as JSON')
    .action(lazy('create'));

  program
    .command('list')
    .alias('ls')
    .description('list the worktrees this tool created')
    .option('--json', 'print WorktreeInfo[] as JSON')
    .action(lazy('list'));

  program
    .command('status')
    .description('counts by status, the worktrees, and archives that can be restored')
    .option('--json', 'print { stats, worktrees, archives } as JSON')
    .action(lazy('status'));

  program
    .command('remove')
    .alias('rm')
    .description('remove a worktree; anything that would be lost is archived first')
    .argument('<issue|id>', 'issue number (its only worktree) or worktree id')
    .option('--keep-branch', 'keep the branch even when all of its work is merged or pushed')
    .option(
      '--force',
      'remove even when locked or holding nested repositories, without archiving uncommitted files (they are lost); never deletes a branch that existed before or holds commits found nowhere else',
    )
    .option('--json', 'print the RemoveResult as JSON')
    .addHelpText('after', REMOVE_FORCE_HELP)
    .action(lazy('remove'));

  program
    .command('restore')
    .description('recreate a removed worktree from its archive (refs/miyabi/archive/<id>)')
    .argument('<id>', 'id of the removed worktree (or an issue number with a single archive)')
    .option('--issue <n>', "the issue the restored worktree is for (needed for an idle worktree's archive)")
    .option('--json', 'print the new WorktreeInfo as JSON')
    .action(lazy('restore'));

  program
    .command('push')
    .description("push a worktree's branch and set its upstream")
    .argument('<issue|id>', 'issue number (its only worktree) or worktree id')
    .option('--remote <name>', 'remote to push to', 'origin')
    .option('--json', 'print the PushResult as JSON')
    .action(lazy('push'));

  program
    .command('pr')
    .description("push a worktree's branch and open (or update) its GitHub pull request")
    .argument('<issue|id>', 'issue number (its only worktree) or worktree id')
    .option('--github <owner/repo>', "the GitHub repository (default: the origin remote's)")
    .option('--github-api-url <url>', 'GitHub REST API root (GitHub Enterprise: https://HOST/api/v3)')
    .option('--draft', 'open it as a draft')
    .option('--reviewer <login>', 'ask this login to review (repeatable)', collect)
    .option('--remote <name>', 'remote to push to', 'origin')
    .option('--json', 'print { url, number, created } as JSON')
    .action(lazy('pr'));

  program
    .command('merge')
    .description("merge a worktree's branch without touching any checkout's branch")
    .argument('<issue|id>', 'issue number (its only worktree) or worktree id')
    .option('--into <branch>', "target branch (default: the worktree's base branch)")
    .option('--squash', 'one new commit on the target')
    .option('--ff-only', 'refuse unless the target can be fast-forwarded')
    .option('-m, --message <text>', 'commit message of the merge or squash commit')
    .option('--json', 'print the MergeResult as JSON')
    .action(lazy('merge'));

  program
    .command('land')
    .description(
      "land a worktree's branch only if the check passes on what the target becomes (merge stays unchecked)",
    )
    .argument('<issue|id>', 'issue number (its only worktree) or worktree id')
    .option(
      '--check <command>',
      'the command that must pass (one command line, no shell; default: config check)',
    )
    .option(
      '--check-timeout <duration>',
      'time limit of each run of the check (default: config check.timeout, else 10m)',
    )
    .option('--into <branch>', "target branch (default: the worktree's base branch)")
    .option('--squash', 'one new commit on the target')
    .option('--ff-only', 'refuse unless the target can be fast-forwarded')
    .option('-m, --message <text>', 'commit message of the merge or squash commit')
    .option('--json', 'print the LandResult ({ merge, landing }) as JSON')
    .action(lazy('land'));

  program
    .command('resolve')
    .description(
      "merge the target into a conflicted task's worktree; run a command there to resolve it, then merge back",
    )
    .argument('<issue|id>', 'issue number (its only worktree) or worktree id')
    .argument(
      '[command...]',
      'resolver command and arguments, after -- (no shell); {conflicts} and MIYABI_CONFLICTS list the paths',
    )
    .option('--into <branch>', "target branch (default: the worktree's base branch)")
    .option(
      '--timeout <duration>',
      `time limit of the resolver command (default: ${DEFAULT_TIMEOUT_MS / 60_000}m)`,
    )
    .option('--json', 'print { path, conflicts } (or the MergeResult once merged) as JSON')
    .action(lazy('resolve'));

  program
    .command('cleanup')
    .description('remove every worktree this tool created (safely) and reclaim what dead processes left')
    .option(
      '--merged',
      'only worktrees whose branch is contained in their base (no commits of its own counts)',
    )
    .option('--older-than <duration>', 'only worktrees created at least this long ago, e.g. 7d, 36h')
    .option('--keep-branch', 'keep the branches, even those this tool created and that are fully merged')
    .option('--dry-run', 'only report what would be done')
    .option('--json', 'print the CleanupReport as JSON')
    .action(lazy('cleanup'));

  program
    .command('archives')
    .description('list, drop or prune the archives of removed worktrees (refs/miyabi/archive/<id>)')
    .argument('[action]', 'list (default), drop <id>, or prune --merged / --older-than D')
    .argument('[id]', 'with drop: the archive id')
    .option('--merged', 'with prune: archives whose work is contained elsewhere (restored and merged, say)')
    .option('--older-than <duration>', 'with prune: archives made at least this long ago, e.g. 30d')
    .option('--force', 'drop even an archive that is the only place of some work (that work is lost)')
    .option('--dry-run', 'with prune: only report what would be dropped')
    .option('--json', 'print ArchiveEntry[], the DropArchiveResult or the PruneArchivesResult as JSON')
    .action(lazy('archives'));

  program
    .command('run')
    .description('run a command in one worktree per issue, in parallel')
    .argument('[command...]', 'command and arguments, after -- (no shell; optional with --resume)')
    .option('--issues <list>', 'issue numbers and ranges, e.g. 1,2,5-8')
    .option(
      '--resume [batch-id]',
      "finish a batch whose run was killed (default: this repository's newest unfinished one): finished tasks keep their results, the others run again in their kept worktrees",
    )
    .option('--github [owner/repo]', "take the issues from GitHub (default: the origin remote's owner/repo)")
    .option('--label <name>', 'GitHub issues with this label (repeatable: all of them)', collect)
    .option('--milestone <title|number>', 'GitHub issues in this milestone')
    .option('--query <search>', 'GitHub issues a search finds, e.g. "no:assignee label:bug"')
    .option(
      '--dry-run',
      "print each task's plan (issue, branch, base, target, setup, command) after every check run makes, and start nothing",
    )
    .option(
      '--concurrency <n>',
      `tasks at once, 1 to ${MAX_CONCURRENCY} (default: config maxConcurrency, else ${DEFAULT_CONCURRENCY})`,
    )
    .option(
      '--timeout <duration>',
      `per-task time limit, e.g. 30m, 90s, 1h30m (default: config timeout, else ${DEFAULT_TIMEOUT_MS / 60_000}m)`,
    )
    .option('--fail-fast', 'stop every task at the first failure or timeout')
    .option(
      '--max-memory <size>',
      "memory limit per task, e.g. 4G: above it the task's processes are killed and it fails with MEMORY_LIMIT (default: config maxMemory, else none)",
    )
    .option(
      '--min-free-memory <size>',
      'start no new task while less memory than this is available, e.g. 2G; never holds the only running task (default: config minFreeMemory, else none)',
    )
    .option('--keep', 'keep the worktrees after the tasks (default: remove each as soon as it ends)')
    .option(
      '--reuse',
      'reuse worktrees: take idle ones, hand each back idle after its task (work saved as removal saves it)',
    )
    .option(
      '--keep-path <path>',
      'with --reuse: ignored path kept between tasks (repeatable; default: config keepPaths, else node_modules .venv target)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--warm <n>', 'with --reuse: first create idle worktrees until n are idle')
    .option(
      '--max-idle <n>',
      'with --reuse: idle worktrees kept at most (default: config maxIdle, else --concurrency)',
    )
    .option('--merge', "merge each successful task's branch back (safely) before cleanup")
    .option('--into <branch>', 'target of --merge (default: the base branch)')
    .option(
      '--on-conflict <what>',
      'with --merge, a conflicted task: keep its worktree (default), agent (rerun the command to resolve it), remove',
    )
    .option(
      '--resolve-attempts <n>',
      'attempts of --on-conflict agent and --on-check-fail agent, together (default 1)',
    )
    .option(
      '--check <command>',
      'with --merge: land each task only if this command passes on what the target becomes (one command line, split into words, no shell; default: config check); with --push/--pr: run it on that candidate first',
    )
    .option(
      '--check-timeout <duration>',
      'time limit of each run of the check (default: config check.timeout, else 10m)',
    )
    .option(
      '--check-batch <n>',
      'check up to n ready landings into one target together in one run, bisecting a failing batch to its culprit (1-32; default: config check.batch, else 1)',
    )
    .option(
      '--on-check-fail <what>',
      'a task whose check fails: keep its worktree (default), agent (rerun the command with {checkLog} and MIYABI_CHECK_LOG, then land again), remove',
    )
    .option('--allow-red-base', 'run the batch even when the check fails on the base itself')
    .option(
      '--variants <n>',
      'attempts per issue, 1-10 (default: config variants, else 1), each on its own branch (-v1, -v2, …; {variant} in the command): the check gates, --score ranks, the best one lands, the others are archived',
    )
    .option(
      '--score <command>',
      "with --variants: ranks the variants that passed the check; run in each one's worktree, its last line a number 0-100 (one command line, no shell; default: config score)",
    )
    .option(
      '--variants-stop-at <score>',
      'with --score: once a variant passes with at least this score (0-100), cancel the rest of its issue',
    )
    .option('--push', "push each successful task's branch")
    .option('--remote <name>', 'remote for --push, and the shared remote of --queue', 'origin')
    .option(
      '--pr',
      "open (or update) a pull request for each successful task's pushed branch (implies --push)",
    )
    .option('--draft', 'open the pull requests as drafts')
    .option('--reviewer <login>', 'ask this login to review each pull request (repeatable)', collect)
    .option('--github-api-url <url>', 'GitHub REST API root (GitHub Enterprise: https://HOST/api/v3)')
    .option('--base <branch>', 'branch the worktrees start from')
    .option('--no-setup', 'skip .worktreeinclude copying, share and setup commands (as create --no-setup)')
    .option(
      '--continue-branches',
      "build on a task branch an earlier run left, or continue in the worktree it kept (default: archive a left branch's commits and start it fresh; refuse a kept worktree with ISSUE_BUSY)",
    )
    .option(
      '--on-overlap <what>',
      'when two running tasks would conflict: warn (default: an overlap line, the exit code unchanged) or stop-later (cancel the later-started task)',
    )
    .option(
      '--radar-interval <duration>',
      `time between two looks of the conflict radar at the task branches (default ${DEFAULT_RADAR_INTERVAL_MS / 1000}s; 0 turns it off)`,
    )
    .option(
      '--pause-on <regex>',
      "also a usage limit when a failed command's last 20 lines match it (repeatable; a named group reset may capture the reset time; default: config pauseOn)",
      collect,
    )
    .option(
      '--pause-max <duration>',
      `the most the batch waits out usage limits in all, e.g. 6h (default: config pauseMax, else ${DEFAULT_PAUSE_MAX_MS / 3_600_000}h; 0: a limit fails the task)`,
    )
    .option(
      '--resume-command <command>',
      'what a task paused at a usage limit runs when it resumes, split at spaces, no shell (default: config resumeCommand, else the command)',
    )
    .option('--log-dir <dir>', 'folder for the per-task logs (default: <git common dir>/miyabi/logs/<batch>)')
    .option(
      '--queue <url>',
      'send the tasks to workers through Redis (redis://host:port) instead of running them here',
    )
    .option('--queue-name <name>', "with --queue: the queue's name (default miyabi)")
    .option(
      '--queue-timeout <duration>',
      'with --queue: how long a task may wait for a worker (default: no limit; a task workers refuse fails after 10m)',
    )
    .option(
      '--secret-file <file>',
      "with --queue: file holding the workers' shared secret that signs each job (default: $MIYABI_QUEUE_SECRET)",
    )
    .option(
      '--share-archives',
      "with --queue: workers push the work they archive to the remote (refs/miyabi/archive/…) and it is fetched here, so 'restore <id>' works here (publishes unfinished work; default: it stays in the worker's clone)",
    )
    .option(
      '--html <file>',
      'write the HTML timeline page of the batch to <file> afterwards (its folder must exist)',
    )
    .option('--json', 'print the PoolExecutionResult as JSON on stdout (progress stays on stderr)')
    .addHelpText('after', RUN_EXAMPLES)
    .action(lazy('run'));

  program
    .command('worker')
    .description(
      'take tasks of `run --queue` batches from Redis and run them in worktrees of a clone of their remote',
    )
    .option('--queue <url>', 'Redis URL, e.g. redis://127.0.0.1:6379 (required)')
    .option('--concurrency <n>', 'tasks at once (default 1)')
    .option(
      '--repo <path>',
      "folder of this worker's clone, cloned from --remote on start when it does not exist (default ./miyabi-worker)",
    )
    .option(
      '--remote <url>',
      "the shared remote this worker serves (its queue is <queue-name>:<hash of the URL>); needed while --repo does not exist (default: the clone's origin)",
    )
    .option('--name <name>', "this worker's name, shown on its tasks (default <host>-<pid>)")
    .option('--allow <program>', 'run only commands whose program (argv[0]) is this (repeatable)', collect)
    .option(
      '--queue-name <name>',
      "the queue's base name: it serves <name>:<hash of its remote> (default miyabi)",
    )
    .option('--lock-duration <duration>', "a dead worker's task is free again after this (default 30s)")
    .option('--stalled-interval <duration>', "how often to look for dead workers' tasks (default 30s)")
    .option(
      '--orphan-timeout <duration>',
      "cancel the jobs of a batch whose submitter has been gone this long (work pushed to the task branch; 'run --resume' continues it; default 10m, at least 5s)",
    )
    .option(
      '--secret-file <file>',
      'run only jobs signed with the shared secret in this file (default: $MIYABI_QUEUE_SECRET; none: any job runs)',
    )
    .option(
      '--json',
      'print its queue, what it reclaimed, and each task taken, refused and ended as a JSON line on stdout',
    )
    .action(lazy('worker'));

  program
    .command('report')
    .description('report of the last run batch (--batch ID one batch, --all every batch, --list the batches)')
    .option('--locale <locale>', 'en or ja', 'en')
    .option('--batch <id>', 'the report of one run batch')
    .option('--all', 'the report of every run batch (all time)')
    .option('--list', 'list the run batches: id, date, size, outcome')
    .option('--html <file>', 'write the HTML timeline page of the batch (--batch, else the last) to <file>')
    .option('--json', 'print the TelemetryStats (with --list: the batches) as JSON')
    .action(lazy('report'));

  program
    .command('conflicts')
    .description(
      'the conflict radar now: live worktrees whose branches changed the same files, and which would conflict',
    )
    .option('--json', 'print Overlap[] ({ a, b, files, conflict, conflictPaths }) as JSON')
    .action(lazy('conflicts'));

  program
    .command('logs')
    .description("print a batch task's log; -f follows it until the task ends")
    .argument('<issue|id>', 'issue number (its most recent task) or worktree id (also of a removed worktree)')
    .option('-f, --follow', 'keep printing what the task writes until it ends')
    .option(
      '--json',
      'print { ...TaskLog, text } as JSON (with -f: one JSON line per chunk, then the TaskLog)',
    )
    .action(lazy('logs'));

  program
    .command('path')
    .description('print a worktree\'s folder: cd "$(miyabi-worktree path 42)"')
    .argument('<issue|id>', 'issue number (its only worktree) or worktree id')
    .option('--json', 'print the WorktreeInfo as JSON')
    .action(lazy('path'));

  program
    .command('demo')
    .description('a real parallel run in a throwaway repository: timeout, failure, safe merges, report')
    .action(lazy('demo'));

  return {
    async run(argv) {
      try {
        // `help nope`: commander would print the whole help; parsing `nope` says it is unknown.
        const args =
          argv[0] === 'help' && argv[1] !== undefined && !knowsCommand(program, argv[1]) ? [argv[1]] : argv;
        await program.parseAsync([...args], { from: 'user' });
      } catch (error) {
        process.exitCode = await reportParseError(error, argv);
      }
    },
  };
}

/** Collects a repeatable option's values. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The action of a command: loads its module (and the runtime) only when it is invoked. */
function lazy(name: CommandName): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const command = args.at(-1) as Command;
    // commander passes the operands, then the options object, then the command.
    const operands = args.slice(0, -2);
    const { executeCommand } = await import('./runtime.js');
    process.exitCode = await executeCommand(name, {
      operands,
      options: command.opts(),
      globals: command.optsWithGlobals(),
    });
  };
}

/**
 * Help and version exit 0; any other parse error is one line on stderr and exit 2, and with
 * `--json` also the `{ "error": ... }` document on stdout that every other bad input prints.
 */
async function reportParseError(error: unknown, argv: readonly string[]): Promise<number> {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    // `help` and `help <command>` exit 0; invoked without a command, commander printed the help on stderr.
    if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
    let message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    let hint = `see '${BIN} --help' or '${BIN} <command> --help'`;
    // `run --issues 1 git log --oneline`: the command's own options reached ours.
    if (error.code === 'commander.unknownOption' && argv.includes('run') && !argv.includes('--')) {
      message = `${message}: put the command after -- (its options are then its own)`;
      hint = `e.g. ${BIN} run --issues 1,2 -- git log --oneline`;
    }
    // Loaded only now: none of them is needed to parse a valid command line.
    const [{ MiyabiError }, { reportError }, { processIo }] = await Promise.all([
      import('../index.js'),
      import('./runtime.js'),
      import('./io.js'),
    ]);
    const usage = new MiyabiError('INVALID_ARGUMENT', message, { hint });
    return reportError(processIo(), usage, { json: wantsJson(argv) });
  }
  const { reportFatal } = await import('./runtime.js');
  return reportFatal(error);
}

/** True when `name` is a command (or alias) of `program`. */
function knowsCommand(program: Command, name: string): boolean {
  return program.commands.some((command) => command.name() === name || command.aliases().includes(name));
}

/** True when `--json` is among the options (not among the arguments of `run`'s command, after `--`). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

// What --force gives up and what it never does: no removal drops the only ref to a commit.
const REMOVE_FORCE_HELP = `
--force skips: the archive of uncommitted files (they are lost), and the refusal of a worktree
  locked by someone else or holding nested repositories with work of their own.
--force never: deletes a branch that existed before the worktree, or one holding commits that are
  in no base or remote branch (it is kept); commits only a detached HEAD reaches are still archived.`;
