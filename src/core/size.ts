// Memory sizes as people write them (`4G`, `512M`, `1.5GiB`): one parser for the CLI, the configuration
// file and the pool, so that `--max-memory`, `maxMemory` and the config key read a value the same way.

const UNIT_BYTES: Readonly<Record<string, number>> = {
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** Why a size text is invalid, or its value in bytes. */
export type SizeParse =
  | { readonly ok: true; readonly bytes: number }
  | { readonly ok: false; readonly problem: string };

/**
 * Parses `<number><unit>`: `K`, `M`, `G`, `T` (powers of 1024; `KB`, `KiB`, `MB`, ... read the same),
 * case-insensitive, a fraction allowed (`1.5G`). A bare number is refused: `--max-memory 4` is almost
 * surely not 4 bytes. `problem` completes a sentence that starts with the quoted value.
 */
export function checkSize(text: string): SizeParse {
  const input = text.trim().toLowerCase();
  if (input === '') return { ok: false, problem: 'is empty' };
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/.exec(input);
  if (!match) return { ok: false, problem: 'is not a size like 512M or 4G' };
  const [, number = '', unitText = ''] = match;
  if (unitText === '')
    return { ok: false, problem: `has no unit: ${number} what? e.g. ${number}M or ${number}G` };
  const unit = /^([kmgt])(?:i?b)?$/.exec(unitText)?.[1];
  const factor = unit === undefined ? undefined : UNIT_BYTES[unit];
  if (factor === undefined)
    return { ok: false, problem: `has an unknown unit "${unitText}" (use K, M, G or T)` };
  return { ok: true, bytes: Math.round(Number(number) * factor) };
}

/** `16M`, `1.5G`, `4G`: the shortest text {@link checkSize} reads back as about `bytes`. */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['T', 1024 ** 4],
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const) {
    if (bytes >= factor) {
      const value = bytes / factor;
      return `${Number.isInteger(value) ? value : value.toFixed(1)}${unit}`;
    }
  }
  return `${bytes}B`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `0 B`, `512 B`, `4.0 KiB`, `12 MiB`, `1.5 GiB`: three significant figures at most. */
export function formatBytes(bytes: number): string {
  let value = Number.isFinite(bytes) && bytes > 0 ? bytes : 0;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || value >= 100 ? Math.round(value).toString() : value.toFixed(1);
  return `${text} ${UNITS[unit]}`;
}
