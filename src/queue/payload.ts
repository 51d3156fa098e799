import { createRequire } from 'node:module';
import type { z as Zod } from 'zod';
import { MiyabiError } from '../errors.js';

/** The job payload's shape version: a worker refuses a payload of any other version. */
export const QUEUE_PAYLOAD_VERSION = 1;

const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** One task as a queue job carries it: everything a worker needs, argv never a shell string. */
function buildSchema(z: typeof Zod) {
  return z.object({
    v: z.literal(QUEUE_PAYLOAD_VERSION),
    batchId: z.string().min(1).max(200),
    /** The shared remote's URL as the submitter sees it; a worker's clone must have it as `origin`. */
    remote: z.string().min(1),
    /** The commit every attempt starts from. */
    baseSha: z.string().regex(OID),
    /** The base branch's name at the submitter (for the task's worktree record). */
    baseBranch: z.string().min(1),
    issueNumber: z.number().int().positive(),
    branchName: z.string().min(1),
    description: z.string().optional(),
    argv: z.array(z.string()).min(1),
    timeoutMs: z.number().int().positive(),
    /** W3C trace context of the submitter's span, when OpenTelemetry is active. */
    traceparent: z.string().optional(),
  });
}

let schema: ReturnType<typeof buildSchema> | undefined;

/** The schema, made on first use: zod (~100 files) loads only in a process that reads jobs. */
function queueJobSchema(): ReturnType<typeof buildSchema> {
  schema ??= buildSchema((createRequire(import.meta.url)('zod') as { z: typeof Zod }).z);
  return schema;
}

export type QueueJobPayload = Zod.infer<ReturnType<typeof buildSchema>>;

/** The payload checked, or `QUEUE_PAYLOAD` naming what is wrong (a version skew says so first). */
export function parseQueueJob(data: unknown): QueueJobPayload {
  const parsed = queueJobSchema().safeParse(data);
  if (parsed.success) return parsed.data;
  const version = typeof data === 'object' && data !== null ? (data as { v?: unknown }).v : undefined;
  if (version !== QUEUE_PAYLOAD_VERSION) {
    throw new MiyabiError(
      'QUEUE_PAYLOAD',
      `job payload version ${JSON.stringify(version ?? null)} is not this worker's version ${QUEUE_PAYLOAD_VERSION}`,
      { details: { version: version ?? null, expected: QUEUE_PAYLOAD_VERSION } },
    );
  }
  const issue = parsed.error.issues[0];
  throw new MiyabiError(
    'QUEUE_PAYLOAD',
    `job payload is malformed: ${issue ? `${issue.path.join('.') || 'payload'}: ${issue.message}` : 'invalid'}`,
  );
}
