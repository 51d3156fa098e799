import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The git processes `fn` starts in this process (not those git starts itself), from git's own
 * trace (`GIT_TRACE2_EVENT`): each as its first `words` arguments, `-c x=y` settings left out.
 */
export async function gitProcessesOf(fn: () => Promise<unknown>, words = 2): Promise<string[]> {
  const trace = join(mkdtempSync(join(tmpdir(), 'miyabi-trace-')), 'trace2.json');
  process.env.GIT_TRACE2_EVENT = trace;
  try {
    await fn();
  } finally {
    delete process.env.GIT_TRACE2_EVENT;
  }
  return readFileSync(trace, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: string; sid: string; argv?: string[] })
    .filter((event) => event.event === 'start' && !event.sid.includes('/'))
    .map((event) =>
      (event.argv ?? [])
        .slice(1)
        .filter((arg, i, all) => arg !== '-c' && all[i - 1] !== '-c')
        .slice(0, words)
        .join(' '),
    );
}
