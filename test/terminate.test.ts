import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processGroup, terminate } from '../src/process/terminate.js';

/** Starts `script` as the leader of its own group and resolves once it printed its first line. */
function startGroup(script: string): Promise<number> {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve) => child.stdout.once('data', () => resolve(child.pid as number)));
}

describe('terminate', () => {
  it('says whether the group was already gone, exited on SIGTERM or needed SIGKILL', async () => {
    const polite = await startGroup('echo ready; sleep 30 & wait');
    expect(await terminate(processGroup(polite))).toBe('exited');
    expect(await terminate(processGroup(polite))).toBe('already-gone');
    const stubborn = await startGroup(`trap '' TERM; echo ready; while :; do sleep 0.05; done`);
    expect(await terminate(processGroup(stubborn), { graceMs: 100 })).toBe('killed');
    expect(processGroup(stubborn).alive()).toBe(false);
  });
});
