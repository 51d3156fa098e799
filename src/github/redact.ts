/** `text` with every occurrence of `secret` replaced: a token must never reach a log, message or JSON. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('[REDACTED]');
}

/** Like `redact`, for any value about to be logged: strings are redacted, objects through JSON. */
export function redactValue(value: unknown, secret: string | undefined): unknown {
  if (typeof value === 'string') return redact(value, secret);
  if (value === null || typeof value !== 'object' || !secret) return value;
  try {
    return JSON.parse(redact(JSON.stringify(value), secret));
  } catch {
    return '[unserialisable]';
  }
}
