import { createHash } from 'node:crypto';
import { normalizeRemote } from './remote-git.js';

/**
 * The queue of one remote: `<name>:<first 8 hex of sha1(remote URL)>`, so a worker only ever sees
 * jobs its clone can serve. BullMQ refuses ':' in a queue name, so the name part is its key prefix:
 * the Redis keys are `bull:<name>:<hash>:…`, as a queue of that full name would have.
 */
export interface RemoteQueue {
  /** `<name>:<hash>`: the key of the batch's cancel channel, refusals and leases, and in messages. */
  readonly id: string;
  /** BullMQ's queue name (the hash). */
  readonly bullName: string;
  /** BullMQ's key prefix (`bull:<name>`). */
  readonly prefix: string;
}

/** The queue of the remote at `url` (normalised as remotes are compared) under the base `name`. */
export function remoteQueue(name: string, url: string): RemoteQueue {
  const hash = createHash('sha1').update(normalizeRemote(url)).digest('hex').slice(0, 8);
  return { id: `${name}:${hash}`, bullName: hash, prefix: `bull:${name}` };
}
