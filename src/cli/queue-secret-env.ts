/** The environment variable that holds the queue's shared secret when `--secret-file` is not given. */
export const QUEUE_SECRET_ENV = 'MIYABI_QUEUE_SECRET';

let taken: string | undefined;

/**
 * Takes the secret out of `env` (the binary does it as it starts), so that no task, setup command,
 * hook or git process of any command inherits it: an agent that could read it could sign jobs.
 * Returns it (trimmed), also on later calls.
 */
export function takeQueueSecret(env: Record<string, string | undefined> = process.env): string | undefined {
  const value = env[QUEUE_SECRET_ENV]?.trim();
  if (value) taken = value;
  delete env[QUEUE_SECRET_ENV];
  return taken;
}
