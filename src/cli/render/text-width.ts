// Terminal column arithmetic: string-width and slice-ansi (log-update's own) know CJK, emoji and ANSI.
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import stripAnsi from 'strip-ansi';

export { stringWidth, stripAnsi };

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we drop.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * `text` cut to at most `width` columns, ending with `…` when it was cut. Never splits a wide
 * character or a grapheme cluster; ANSI sequences are removed.
 */
export function truncateToWidth(text: string, width: number, ellipsis = '…'): string {
  const plain = stripAnsi(text);
  if (stringWidth(plain) <= width) return plain;
  const room = width - stringWidth(ellipsis);
  if (room < 0) return '';
  // slice-ansi keeps a wide character or cluster that straddles the end whole: step back past it.
  let end = room;
  let out = sliceAnsi(plain, 0, end);
  while (end > 0 && stringWidth(out) > room) out = sliceAnsi(plain, 0, --end);
  return (stringWidth(out) > room ? '' : out) + ellipsis;
}

/** Pads with spaces to `width` columns (on the right, or on the left for `align: 'right'`). */
export function padToWidth(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const padding = ' '.repeat(Math.max(0, width - stringWidth(text)));
  return align === 'right' ? padding + text : text + padding;
}

/**
 * One printable line from arbitrary program output: ANSI sequences removed, only the text after
 * the last carriage return (progress bars redraw with `\r`), the last non-empty line, tabs as
 * spaces, other control characters dropped, trimmed.
 */
export function sanitizeLine(text: string): string {
  const lines = stripAnsi(text)
    .split('\n')
    .map((line) => {
      const parts = line.split('\r').filter((part) => part.trim() !== '');
      return (parts[parts.length - 1] ?? '').replaceAll('\t', '  ').replace(CONTROL, '').trim();
    })
    .filter((line) => line !== '');
  return lines[lines.length - 1] ?? '';
}
