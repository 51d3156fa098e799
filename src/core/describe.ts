/**
 * How a bad value is shown in a message: its JSON form (numbers as JavaScript writes them, so NaN
 * and Infinity are not shown as `null`) and its type.
 */
export function describe(value: unknown): string {
  return `${show(value)} (${value === null ? 'null' : typeof value})`;
}

function show(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
    case 'symbol':
    case 'function':
      return String(value).split('\n')[0] ?? '';
    default:
      try {
        return JSON.stringify(value) ?? String(value);
      } catch {
        return String(value);
      }
  }
}
