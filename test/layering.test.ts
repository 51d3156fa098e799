import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * The floors of src/, lowest first (ARCHITECTURE.md): a file may import its own folder and any lower
 * floor, never a higher one. Folders on one floor may not import each other, except those grouped in
 * one entry: the pool and the queue runner still call each other (the worker runs a pool).
 */
const FLOORS: readonly (readonly string[])[] = [
  ['errors.ts', 'log.ts'],
  ['core'],
  ['process', 'concurrency'],
  ['state'],
  ['git'],
  ['config', 'inventory', 'github'],
  ['telemetry', 'setup'],
  ['radar'],
  ['manager'],
  ['pool+queue'],
  ['index.ts', 'internal.ts'],
  ['cli'],
];

function floorOf(path: string): { floor: number; group: string } {
  const top = relative(src, path).split('/')[0] as string;
  const group = top === 'pool' || top === 'queue' ? 'pool+queue' : top;
  const floor = FLOORS.findIndex((names) => names.includes(group));
  if (floor < 0) throw new Error(`src/${top} is on no floor: add it to FLOORS in test/layering.test.ts`);
  return { floor, group };
}

/** Every relative import in src/, as [importer, imported] absolute paths (`.js` as written). */
function imports(): [string, string][] {
  const found: [string, string][] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts'))
        for (const match of readFileSync(path, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g))
          found.push([path, join(dirname(path), (match[1] as string).replace(/\.js$/, '.ts'))]);
    }
  };
  walk(src);
  return found;
}

describe('the layers of src/', () => {
  it('no file imports from a higher floor, nor from a sibling folder on its own floor', () => {
    const all = imports();
    // Found at all: else the check below could pass by seeing nothing.
    expect(all.length).toBeGreaterThan(300);
    const upward = all
      .filter(([from, to]) => {
        const a = floorOf(from);
        const b = floorOf(to);
        return b.floor > a.floor || (b.floor === a.floor && b.group !== a.group);
      })
      .map(([from, to]) => `${relative(src, from)} -> ${relative(src, to)}`);
    expect(upward).toEqual([]);
  });
});
