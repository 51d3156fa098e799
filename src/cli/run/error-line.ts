// Lines that say where a failure happened, not what it was: stack frames, carets, runtime banners.
const WHERE = /^(at\s|\^+$|~+$|Node\.js v\d|File ".*", line \d+|-{3,}$|={3,}$)/;
// Words of a line that says what went wrong, in the usual tools' output.
const WHAT = /error|err!|exception|fatal|panic|fail|traceback|denied|not found|cannot|can't|unable/i;

/**
 * What a failed command's output says went wrong, in one line: the last line that reads like an
 * error (`Error: boom`, not the stack frame or `Node.js v22` printed after it), else its last two
 * lines that are not stack frames, joined with ` | `; empty for no output.
 */
export function errorLine(tail: string): string {
  const lines = tail
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !WHERE.test(line));
  return lines.findLast((line) => WHAT.test(line)) ?? lines.slice(-2).join(' | ');
}
