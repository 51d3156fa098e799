// Terminal column arithmetic without dependencies: enough for CJK, emoji and ANSI colours.

// CSI sequences (colours, cursor moves), OSC sequences (hyperlinks, titles), and two-byte escapes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what we match.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we drop.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const ZERO_WIDTH = /^[\p{Mark}\p{Default_Ignorable_Code_Point}\p{Cc}]$/u;
const EMOJI_PRESENTATION = /^\p{Emoji_Presentation}$/u;
const PICTOGRAPHIC = /^\p{Extended_Pictographic}$/u;

// East Asian Wide and Fullwidth blocks (Unicode EastAsianWidth W/F, grouped).
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18aff],
  [0x1b000, 0x1b2ff],
  [0x20000, 0x3fffd],
];

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Removes ANSI escape sequences (colours, cursor movement, hyperlinks). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** Columns one code point takes: 0 (marks, joiners, controls), 1, or 2 (wide, fullwidth, emoji). */
export function codePointWidth(codePoint: number): 0 | 1 | 2 {
  const char = String.fromCodePoint(codePoint);
  if (ZERO_WIDTH.test(char)) return 0;
  if (EMOJI_PRESENTATION.test(char)) return 2;
  for (const [low, high] of WIDE_RANGES) {
    if (codePoint >= low && codePoint <= high) return 2;
    if (codePoint < low) break;
  }
  return 1;
}

/** Columns one grapheme cluster takes (a ZWJ family emoji or `❤️` counts as 2). */
function clusterWidth(cluster: string): number {
  const first = cluster.codePointAt(0) ?? 0;
  const base = codePointWidth(first);
  // A text-style pictograph followed by VS16 (U+FE0F) is drawn as a wide emoji.
  if (base === 1 && cluster.includes('\uFE0F') && PICTOGRAPHIC.test(String.fromCodePoint(first))) return 2;
  if (base === 0) {
    let width = 0;
    for (const char of cluster) width = Math.max(width, codePointWidth(char.codePointAt(0) ?? 0));
    return width;
  }
  return base;
}

/** The number of terminal columns `text` occupies (ANSI sequences take none). */
export function stringWidth(text: string): number {
  let width = 0;
  for (const { segment } of segmenter.segment(stripAnsi(text))) width += clusterWidth(segment);
  return width;
}

/**
 * `text` cut to at most `width` columns, ending with `…` when it was cut. Never splits a wide
 * character or a grapheme cluster; ANSI sequences are removed.
 */
export function truncateToWidth(text: string, width: number, ellipsis = '…'): string {
  const plain = stripAnsi(text);
  if (stringWidth(plain) <= width) return plain;
  const room = width - stringWidth(ellipsis);
  if (room < 0) return '';
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(plain)) {
    const next = clusterWidth(segment);
    if (used + next > room) break;
    out += segment;
    used += next;
  }
  return out + ellipsis;
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
