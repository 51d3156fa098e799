import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * A ref's value from its loose file in the common dir, without spawning git; undefined when it is
 * packed (or the repository stores refs otherwise): the caller asks git then. A loose ref always
 * wins over a packed one, so what it holds is the tip (stale at worst by a concurrent update,
 * which the caller's compare-and-swap catches).
 */
export async function readLooseRef(commonDir: string, ref: string): Promise<string | undefined> {
  const text = await readFile(join(commonDir, ...ref.split('/')), 'utf8').catch(() => '');
  const value = text.trim();
  return OID.test(value) ? value : undefined;
}
