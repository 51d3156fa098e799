import { MiyabiError } from '../errors.js';
import { checkQueueSecret } from './sign-job.js';
import type { PoolQueueOptions } from './types.js';

/** The pool's `queue` option checked, before anything connects. */
export function checkQueueOptions(queue: PoolQueueOptions | undefined): PoolQueueOptions | undefined {
  if (queue === undefined) return undefined;
  if (typeof queue !== 'object' || queue === null || typeof queue.connection !== 'string') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      'queue must be an object like { connection: "redis://127.0.0.1:6379" }',
    );
  }
  if (!/^rediss?:\/\/\S+$/.test(queue.connection)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `queue.connection must be a redis:// or rediss:// URL, got ${JSON.stringify(queue.connection)}`,
      {
        hint: 'e.g. redis://127.0.0.1:6379',
      },
    );
  }
  if (queue.name !== undefined && (typeof queue.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(queue.name))) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `queue.name must be letters, digits, '.', '_' or '-', got ${JSON.stringify(queue.name)}`,
    );
  }
  for (const key of ['queueTimeoutMs', 'attempts'] as const) {
    const value = queue[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)) {
      throw new MiyabiError(
        'INVALID_ARGUMENT',
        `queue.${key} must be a positive integer, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (queue.shareArchives !== undefined && typeof queue.shareArchives !== 'boolean') {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `queue.shareArchives must be true or false, got ${JSON.stringify(queue.shareArchives)}`,
    );
  }
  checkQueueSecret(queue.secret, 'queue.secret');
  return queue;
}
