import { createRequire } from 'node:module';
import type { z as Zod } from 'zod';
import { MiyabiError } from '../errors.js';

/**
 * The job payload's shape version a submitter writes. 2 added `context` and made the worker expand
 * placeholders; 3 added `reuse`, `prepare`, `env`, `keep` and `handBack`, which an older worker would ignore: it refuses
 * the job (`QUEUE_PAYLOAD`) instead. 4 added `pause` (a usage limit delays the job on the queue
 * instead of holding the worker) and `handBack.checkLog` (a failing landing check handed back).
 */
export const QUEUE_PAYLOAD_VERSION = 4;

/** The versions this worker reads: a version 1 or 2 job runs as before (reusing worktrees, no env). */
const READABLE_VERSIONS = [1, 2, 3, QUEUE_PAYLOAD_VERSION] as const;

const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** One task as a queue job carries it: everything a worker needs, argv never a shell string. */
function buildSchema(z: typeof Zod) {
  return z.object({
    v: z.union([
      z.literal(READABLE_VERSIONS[0]),
      z.literal(READABLE_VERSIONS[1]),
      z.literal(READABLE_VERSIONS[2]),
      z.literal(READABLE_VERSIONS[3]),
    ]),
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
    /** The command with its placeholders unexpanded: the worker expands them against its worktree. */
    argv: z.array(z.string()).min(1),
    /** The task's issue text (`WorktreeTask.context`): placeholders, `MIYABI_ISSUE_*`, `MIYABI_ISSUE_FILE`. */
    context: z
      .object({
        title: z.string(),
        body: z.string(),
        url: z.string(),
        labels: z.array(z.string()),
      })
      .optional(),
    timeoutMs: z.number().int().positive(),
    /** The pool's `reuse` (v3): the worker's pool takes idle worktrees and hands them back idle. */
    reuse: z.object({ keepPaths: z.array(z.string()), maxIdle: z.number().int().nonnegative() }).optional(),
    /** The pool's `prepare` option as given (v3): on top of the configuration at `baseSha`. */
    prepare: z
      .object({
        include: z.boolean().optional(),
        setup: z.array(z.array(z.string()).min(1)).optional(),
        setupTimeoutMs: z.number().int().positive().optional(),
        share: z
          .array(z.object({ path: z.string(), mode: z.union([z.literal('clone'), z.literal('symlink')]) }))
          .optional(),
      })
      .optional(),
    /** The pool's `existingBranches: 'continue'` (v3): build on the remote's task branch. */
    existingBranches: z.literal('continue').optional(),
    /** Extra environment of the task's command (v3), as a local run gives it. */
    env: z.record(z.string(), z.string()).optional(),
    /** The submitter's `shareArchives`: push the task's archives to the remote for it to fetch. */
    shareArchives: z.boolean().optional(),
    /** The submitter's `queueTimeoutMs`: a task refused by workers fails after it (10 minutes when absent). */
    queueTimeoutMs: z.number().int().positive().optional(),
    /** The submitter keeps its tasks (`autoCleanup: false`): a task that did not succeed pushes its branch too. */
    keep: z.boolean().optional(),
    /**
     * A conflicted task handed back (`onConflict: { resolve }`): `argv` is the resolver's. The worker
     * continues the task's branch from `branchCommit`, merges `targetSha` into it, runs the resolver
     * on the conflicts (up to `attempts` times), and pushes the resolved branch.
     */
    handBack: z
      .object({
        branchCommit: z.string().regex(OID),
        targetSha: z.string().regex(OID),
        /** The target's name at the submitter (for the worktree's messages). */
        into: z.string().min(1),
        attempts: z.number().int().positive(),
        /**
         * A failing landing check handed back (`onCheckFail: { fix }`): the end of its output. The worker
         * writes it under the worktree's git dir (`MIYABI_CHECK_LOG`, `{checkLog}`) and runs the fix even
         * when the target merges in cleanly; the submitter lands the pushed branch again.
         */
        checkLog: z.string().optional(),
      })
      .optional(),
    /** The pool's `maxMemory` in bytes: the worker's pool stops the task above it. */
    maxMemory: z.number().int().positive().optional(),
    /**
     * The pool's usage-limit settings (v4): `pauseOn` patterns (as source and flags), `pauseMaxMs`,
     * and the command a resumed task runs (`resumeCommand`, placeholders unexpanded).
     */
    pause: z
      .object({
        pauseOn: z.array(z.object({ source: z.string().min(1), flags: z.string() })),
        pauseMaxMs: z.number().nonnegative(),
        resumeCommand: z.array(z.string()).min(1).optional(),
      })
      .optional(),
    /**
     * The issue's variant this job runs (issue 26): its number (`{variant}` in `argv`, the task's
     * log `issue-<n>-v<k>.log`) and name. Its own command is `argv`, its environment (with
     * `MIYABI_VARIANT` and `MIYABI_VARIANT_NAME`) in `env`. Absent: the issue's only attempt.
     */
    variant: z.object({ variant: z.number().int().positive(), name: z.string().min(1) }).optional(),
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
  if (!(READABLE_VERSIONS as readonly unknown[]).includes(version)) {
    throw new MiyabiError(
      'QUEUE_PAYLOAD',
      `job payload version ${JSON.stringify(version ?? null)} is not one this worker reads (${READABLE_VERSIONS.join(', ')})`,
      { details: { version: version ?? null, expected: [...READABLE_VERSIONS] } },
    );
  }
  const issue = parsed.error.issues[0];
  throw new MiyabiError(
    'QUEUE_PAYLOAD',
    `job payload is malformed: ${issue ? `${issue.path.join('.') || 'payload'}: ${issue.message}` : 'invalid'}`,
  );
}
