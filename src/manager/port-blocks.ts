import { createServer } from 'node:net';
import type { WorktreeInfo } from '../core/types.js';
import { MiyabiError } from '../errors.js';
import type { ManagerContext } from './context.js';

/**
 * A block of `ports.count` ports for a new worktree (config `ports`), or undefined without that
 * config: the first block from `ports.base` up that no worktree in `records` holds and whose every
 * port takes a bind on 127.0.0.1 right now (another program's server is skipped). The caller holds
 * the repository lock and records the block, so two worktrees never get the same one.
 */
export async function allocatePorts(
  ctx: ManagerContext,
  records: readonly WorktreeInfo[],
): Promise<number[] | undefined> {
  const config = ctx.config.config.ports;
  if (!config) return undefined;
  const held = new Set(records.flatMap((record) => record.ports ?? []));
  for (let first = config.base; first + config.count - 1 <= 65535; first += config.count) {
    const block = Array.from({ length: config.count }, (_, index) => first + index);
    if (block.some((port) => held.has(port))) continue;
    if (await allBindable(block)) return block;
  }
  throw new MiyabiError(
    'PORTS_EXHAUSTED',
    `no block of ${config.count} free ports from ${config.base} up to 65535 for a new worktree`,
    {
      hint: 'Remove worktrees you no longer need (cleanup), or lower ports.count / move ports.base in the configuration.',
      details: { base: config.base, count: config.count, heldByWorktrees: held.size },
    },
  );
}

/** True when every port of `block` can be bound on 127.0.0.1 at this moment (each released at once). */
async function allBindable(block: readonly number[]): Promise<boolean> {
  for (const port of block) {
    if (!(await bindable(port))) return false;
  }
  return true;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}
