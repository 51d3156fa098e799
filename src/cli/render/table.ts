import { padToWidth, sanitizeLine, stringWidth, truncateToWidth } from './text-width.js';

/** One column of {@link renderTable}. */
export interface TableColumn<Row> {
  readonly header: string;
  /** The cell text for a row; `null`/`undefined` render as an empty cell. */
  readonly value: (row: Row) => string | number | boolean | null | undefined;
  /** @default 'left' */
  readonly align?: 'left' | 'right';
  /** Cells wider than this are cut with `…`. */
  readonly maxWidth?: number;
}

export interface RenderTableOptions {
  /** Spaces between columns. @default 2 */
  readonly gap?: number;
  /** Terminal width: the last column is cut so that no line is wider. */
  readonly width?: number;
}

/**
 * Aligns rows under a header line, columns separated by spaces (the `git branch -vv` / `docker ps`
 * look), measuring in terminal columns so that CJK text and emoji line up. No trailing spaces,
 * no trailing newline; cells are flattened to one line.
 */
export function renderTable<Row>(
  rows: readonly Row[],
  columns: readonly TableColumn<Row>[],
  options: RenderTableOptions = {},
): string {
  const gap = ' '.repeat(options.gap ?? 2);
  const cells = rows.map((row) => columns.map((column) => cellText(column, row)));
  const widths = columns.map((column, index) =>
    Math.max(stringWidth(column.header), ...cells.map((line) => stringWidth(line[index] ?? ''))),
  );
  const renderLine = (line: readonly string[]) => {
    const text = line
      .map((cell, index) => padToWidth(cell, widths[index] ?? 0, columns[index]?.align))
      .join(gap)
      .trimEnd();
    return options.width === undefined ? text : truncateToWidth(text, options.width);
  };
  return [renderLine(columns.map((column) => column.header)), ...cells.map((line) => renderLine(line))].join(
    '\n',
  );
}

function cellText<Row>(column: TableColumn<Row>, row: Row): string {
  const raw = column.value(row);
  const text = raw === null || raw === undefined ? '' : sanitizeCell(String(raw));
  return column.maxWidth === undefined ? text : truncateToWidth(text, column.maxWidth);
}

// A cell is one line: newlines and tabs become spaces, control characters go.
function sanitizeCell(text: string): string {
  return text
    .split(/\r?\n/)
    .map((part) => sanitizeLine(part))
    .filter((part) => part !== '')
    .join(' ');
}
