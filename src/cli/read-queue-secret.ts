import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MiyabiError } from '../index.js';
import { QUEUE_SECRET_ENV, takeQueueSecret } from './queue-secret-env.js';

export { QUEUE_SECRET_ENV };

/**
 * The queue's shared secret: the contents of `--secret-file` (surrounding whitespace trimmed), else
 * `$MIYABI_QUEUE_SECRET` (taken out of the environment as the binary started), else undefined. A file
 * that is missing, unreadable or empty is `INVALID_ARGUMENT` naming the file, never its contents.
 */
export function readQueueSecret(
  secretFile: unknown,
  cwd: string,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const fromEnv = takeQueueSecret(env);
  if (typeof secretFile !== 'string') return fromEnv ? fromEnv : undefined;
  const path = resolve(cwd, secretFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`;
    throw new MiyabiError('INVALID_ARGUMENT', `--secret-file: ${path} ${why}`, {
      hint: 'Write the shared secret to a file this user can read (e.g. openssl rand -hex 32 > F; chmod 600 F).',
    });
  }
  const secret = text.trim();
  if (secret === '') {
    throw new MiyabiError('INVALID_ARGUMENT', `--secret-file: ${path} is empty`, {
      hint: 'Write the shared secret to it (e.g. openssl rand -hex 32 > F), the same at submitters and workers.',
    });
  }
  return secret;
}
