import { createHmac, timingSafeEqual } from 'node:crypto';
import { MiyabiError } from '../errors.js';

/**
 * How long a signed job stays valid when the batch sets no `queueTimeoutMs`: as long as BullMQ
 * keeps a finished job (24 h), so a job still in Redis after that is refused, never run.
 */
export const SIGNED_JOB_TTL_MS = 86_400_000;

/** A signed job as it sits in Redis: the payload's exact JSON bytes, what they are bound to, the tag. */
export interface SignedJob {
  /** Marks the envelope (and its format's version). */
  readonly signed: 1;
  /** The payload, serialized once: the signature covers exactly these bytes. */
  readonly body: string;
  readonly batchId: string;
  /** Epoch milliseconds after which a worker refuses the job. */
  readonly expiresAt: number;
  /** HMAC-SHA256 (hex) of the three fields above under the shared secret. */
  readonly sig: string;
}

/** The signed bytes: each field on its own line, so no field can be shifted into another. */
function tag(secret: string, body: string, batchId: string, expiresAt: number): Buffer {
  return createHmac('sha256', secret)
    .update(`miyabi-job-v1\n${batchId}\n${expiresAt}\n`)
    .update(body)
    .digest();
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

/** Wraps a job's payload in a signed envelope bound to its batch and valid until `expiresAt`. */
export function signJob(payload: { readonly batchId: string }, secret: string, expiresAt: number): SignedJob {
  const body = JSON.stringify(payload);
  const sig = tag(secret, body, payload.batchId, expiresAt).toString('hex');
  return { signed: 1, body, batchId: payload.batchId, expiresAt, sig };
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
 * matches (compared in constant time), whose batch id is the payload's and which has not expired;
 * anything else is `QUEUE_UNTRUSTED`. Without one: the payload, signed or not, unchecked.
 */
export function openJob(data: unknown, secret: string | undefined, now = Date.now()): unknown {
  if (!isEnvelope(data)) {
    if (secret !== undefined) throw untrusted('the job is not signed');
    return data;
  }
  const { body, batchId, expiresAt, sig } = data;
  if (
    typeof body !== 'string' ||
    typeof batchId !== 'string' ||
    typeof expiresAt !== 'number' ||
    !Number.isSafeInteger(expiresAt) ||
    typeof sig !== 'string'
  ) {
    throw new MiyabiError('QUEUE_PAYLOAD', 'job envelope is malformed');
  }
  if (secret !== undefined) {
    const expected = tag(secret, body, batchId, expiresAt);
    const given = Buffer.from(/^[0-9a-f]{64}$/.test(sig) ? sig : '', 'hex');
    // Lengths are public (a SHA-256 tag is 32 bytes); the bytes are compared in constant time.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw untrusted('its signature does not match');
    }
    if (now > expiresAt) throw untrusted(`it expired at ${new Date(expiresAt).toISOString()}`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    throw new MiyabiError('QUEUE_PAYLOAD', 'job envelope body is not JSON');
  }
  // The batch id the tag covers must be the one the payload runs under.
  if (
    secret !== undefined &&
    (typeof payload !== 'object' ||
      payload === null ||
      (payload as { batchId?: unknown }).batchId !== batchId)
  ) {
    throw untrusted('its batch id is not the signed one');
  }
  return payload;
}
