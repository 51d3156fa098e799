import { createHmac, timingSafeEqual } from 'node:crypto';
import { MiyabiError } from '../errors.js';

/**
 * How long a signed job stays valid when the batch sets no `queueTimeoutMs`: as long as BullMQ
 * keeps a finished job (24 h), so a job still in Redis after that is refused, never run.
 */
export const SIGNED_JOB_TTL_MS = 86_400_000;

/**
 * A signed job as it sits in Redis: the payload's exact JSON bytes (its batch id among them), its
 * expiry, and the tag over both.
 */
export interface SignedJob {
  /** Marks the envelope (and its format's version). */
  readonly signed: 1;
  /** The payload, serialized once: the signature covers exactly these bytes. */
  readonly body: string;
  /** Epoch milliseconds after which a worker refuses the job. */
  readonly expiresAt: number;
  /** HMAC-SHA256 (hex) of the two fields above under the shared secret. */
  readonly sig: string;
}

/** The signed bytes: a format label and the expiry on lines of their own, then the body as it is. */
function tag(secret: string, body: string, expiresAt: number): Buffer {
  return createHmac('sha256', secret).update(`miyabi-job-v1\n${expiresAt}\n`).update(body).digest();
}

/** A non-empty secret, else `INVALID_ARGUMENT` naming `option` (never the value). */
export function checkQueueSecret(secret: unknown, option: string): string | undefined {
  if (secret === undefined) return undefined;
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new MiyabiError('INVALID_ARGUMENT', `${option} must be a non-empty string`, {
      hint: 'e.g. the output of `openssl rand -hex 32`, the same at submitters and workers.',
    });
  }
  return secret;
}

/** Wraps a job's payload (whose bytes carry its batch id) in a signed envelope valid until `expiresAt`. */
export function signJob(payload: object, secret: string, expiresAt: number): SignedJob {
  const body = JSON.stringify(payload);
  const sig = tag(secret, body, expiresAt).toString('hex');
  return { signed: 1, body, expiresAt, sig };
}

function isEnvelope(data: unknown): data is Record<keyof SignedJob, unknown> {
  return typeof data === 'object' && data !== null && (data as { signed?: unknown }).signed === 1;
}

const untrusted = (why: string) =>
  new MiyabiError(
    'QUEUE_UNTRUSTED',
    `job refused: ${why}; this worker runs only jobs signed with its secret`,
  );

/**
 * The payload of a job as a worker reads it. With a secret: only a well-formed envelope whose tag
 * matches (compared in constant time) and which has not expired; anything else is
 * `QUEUE_UNTRUSTED`. Without one: the payload, signed or not, unchecked.
 */
export function openJob(data: unknown, secret: string | undefined, now = Date.now()): unknown {
  if (!isEnvelope(data)) {
    if (secret !== undefined) throw untrusted('the job is not signed');
    return data;
  }
  const { body, expiresAt, sig } = data;
  if (
    typeof body !== 'string' ||
    typeof expiresAt !== 'number' ||
    !Number.isSafeInteger(expiresAt) ||
    typeof sig !== 'string'
  ) {
    throw new MiyabiError('QUEUE_PAYLOAD', 'job envelope is malformed');
  }
  if (secret !== undefined) {
    const expected = tag(secret, body, expiresAt);
    const given = Buffer.from(/^[0-9a-f]{64}$/.test(sig) ? sig : '', 'hex');
    // Lengths are public (a SHA-256 tag is 32 bytes); the bytes are compared in constant time.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw untrusted('its signature does not match');
    }
    if (now > expiresAt) throw untrusted(`it expired at ${new Date(expiresAt).toISOString()}`);
  }
  try {
    return JSON.parse(body);
  } catch {
    throw new MiyabiError('QUEUE_PAYLOAD', 'job envelope body is not JSON');
  }
}
