import { Redis } from 'ioredis';
import { MiyabiError } from '../errors.js';
import { type Logger, safeLog } from '../log.js';

/** How long the first connection to Redis may take before `QUEUE_UNAVAILABLE`. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** A `redis://` or `rediss://` URL, else `INVALID_ARGUMENT` before any connection is tried. */
export function checkRedisUrl(url: unknown, option = 'queue'): string {
  if (typeof url !== 'string' || !/^rediss?:\/\/[^\s]+$/.test(url)) {
    throw new MiyabiError(
      'INVALID_ARGUMENT',
      `${option} must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`,
      {
        hint: 'e.g. redis://127.0.0.1:6379 (rediss:// for TLS, redis://:password@host:6379 with a password).',
      },
    );
  }
  return url;
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/**
 * Opens a Redis connection that BullMQ can use (no per-command retry limit: commands wait out a
 * Redis restart) and checks it answers within `timeoutMs`, else throws `QUEUE_UNAVAILABLE`. After
 * that first answer it reconnects on its own for as long as it is open.
 */
export async function connectRedis(
  url: string,
  options: { timeoutMs?: number; logger?: Logger; signal?: AbortSignal } = {},
): Promise<Redis> {
  checkRedisUrl(url);
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // Reconnects after a Redis restart, at most every 2 s.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  let lastError: Error | undefined;
  // Without a listener ioredis prints every failed reconnection to the console.
  client.on('error', (error: Error) => {
    lastError = error;
    if (options.logger) safeLog(options.logger, 'debug', { error: error.message }, 'redis connection error');
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return client;
  } catch (error) {
    client.disconnect();
    const reason = lastError?.message ?? (error instanceof Error ? error.message : String(error));
    throw new MiyabiError('QUEUE_UNAVAILABLE', `cannot reach Redis at ${redactRedisUrl(url)}: ${reason}`, {
      cause: error,
      hint: 'Start one (redis-server --port 6379 --bind 127.0.0.1) or fix the URL, then try again.',
      details: { url: redactRedisUrl(url) },
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a connection, politely when Redis answers, at once when it does not. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise((r) => setTimeout(r, 1_000).unref()),
  ]);
  client.disconnect();
}
