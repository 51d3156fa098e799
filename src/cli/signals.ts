import { forceStopProcessGroups } from '../internal.js';
import { BIN } from './bin-name.js';
import { type OutputStream, writeLine } from './io.js';
import { EXIT_INTERRUPTED } from './render/error.js';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** What the CLI does on Ctrl-C / SIGTERM while a command runs. */
export interface InterruptHandler {
  /** Aborted by the first signal: every library call of the command takes it. */
  readonly signal: AbortSignal;
  /** The signal that arrived first, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** Stops listening (the command is over). */
  dispose(): void;
  /** Sends the first signal's notice through `sink` (a live view), or back to stderr with `undefined`. */
  routeNotices(sink: ((line: string) => void) | undefined): void;
}

export interface InterruptHandlerOptions {
  readonly stderr: OutputStream;
  /** Exits the process on the second signal. @default process.exit */
  readonly exit?: (code: number) => void;
}

/**
 * Installs the two-stage interrupt: the first SIGINT/SIGTERM/SIGHUP aborts `signal` (the pool stops
 * every task's process group, archives and cleans up as usual, and the command exits 130 after
 * that); a second one kills every process group still alive with SIGKILL, except git updating a
 * checkout the tool does not own (the user's, on merge), which it lets finish (bounded, saying so),
 * says what may be left behind and how to reclaim or repair it, and exits 130.
 */
export function installInterruptHandler(options: InterruptHandlerOptions): InterruptHandler {
  const controller = new AbortController();
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let received: NodeJS.Signals | undefined;
  // Set by the second signal: later ones change nothing while protected git runs finish.
  let forcing = false;
  // Where notices go: stderr, or through the live view while one is drawn (see `routeNotices`).
  let notify = (line: string) => writeLine(options.stderr, line);
  const onSignal = (name: NodeJS.Signals) => {
    if (received === undefined) {
      received = name;
      notify(
        `${BIN}: ${name} received: stopping every task and cleaning up (press Ctrl-C again to force exit)`,
      );
      controller.abort(new Error(`interrupted by ${name}`));
      return;
    }
    if (forcing) return;
    forcing = true;
    void forceStopProcessGroups({
      onWait: (runs, waitMs) =>
        writeLine(
          options.stderr,
          `${BIN}: ${name}: waiting up to ${Math.round(waitMs / 1000)} s for git to finish updating ${runs.map((run) => run.path).join(', ')} (killing it midway would leave that checkout half-updated)`,
        ),
    }).then(({ killed, interrupted }) => {
      writeLine(
        options.stderr,
        `${BIN}: forced exit (${name}): killed ${killed} process group${killed === 1 ? '' : 's'}. ` +
          'Worktrees, branches or lock files of unfinished tasks may be left behind; ' +
          `run '${BIN} cleanup' to reclaim them (uncommitted work is archived, not lost).`,
      );
      for (const run of interrupted) {
        writeLine(
          options.stderr,
          `${BIN}: git was killed while updating ${run.path}: that checkout is left mid-update. ${run.repair}`,
        );
      }
      exit(EXIT_INTERRUPTED);
    });
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    routeNotices(sink) {
      notify = sink ?? ((line: string) => writeLine(options.stderr, line));
    },
    dispose() {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
