import { killAllProcessGroups } from '../index.js';
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
}

export interface InterruptHandlerOptions {
  readonly stderr: OutputStream;
  /** Exits the process on the second signal. @default process.exit */
  readonly exit?: (code: number) => void;
}

/**
 * Installs the two-stage interrupt: the first SIGINT/SIGTERM/SIGHUP aborts `signal` (the pool stops
 * every task's process group, archives and cleans up as usual, and the command exits 130 after
 * that); a second one kills every process group still alive with SIGKILL, says what may be left
 * behind and how to reclaim it, and exits 130 at once.
 */
export function installInterruptHandler(options: InterruptHandlerOptions): InterruptHandler {
  const controller = new AbortController();
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let received: NodeJS.Signals | undefined;
  const onSignal = (name: NodeJS.Signals) => {
    if (received === undefined) {
      received = name;
      writeLine(
        options.stderr,
        `\n${BIN}: ${name} received: stopping every task and cleaning up (press Ctrl-C again to force exit)`,
      );
      controller.abort(new Error(`interrupted by ${name}`));
      return;
    }
    const killed = killAllProcessGroups('SIGKILL');
    writeLine(
      options.stderr,
      `${BIN}: forced exit (${name}): killed ${killed} process group${killed === 1 ? '' : 's'}. ` +
        'Worktrees, branches or lock files of unfinished tasks may be left behind; ' +
        `run '${BIN} cleanup' to reclaim them (uncommitted work is archived, not lost).`,
    );
    exit(EXIT_INTERRUPTED);
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
