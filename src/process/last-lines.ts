/** The last `count` non-empty lines of a command's output, joined on one line for messages. */
export function lastLines(tail: string, count = 3): string {
  return tail
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-count)
    .join(' | ');
}
