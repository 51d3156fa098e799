import {
  CONFIG_FILE_NAME,
  DEFAULT_CONFIG,
  DEFAULT_PORTS,
  MAX_CONCURRENCY,
  MAX_DURATION_MS,
  MiyabiError,
  branchNameProblem,
  branchPatternProblem,
  checkDuration,
  normaliseRelativePath,
  relativePathProblem
} from "./chunk-DCZFFKL6.js";

// dist/config/config-schema.js
import * as z from "zod";
function parseConfig(data, label = CONFIG_FILE_NAME, pathPrefix = []) {
  const result = configSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => formatIssue(issue, label, pathPrefix));
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
    throw new MiyabiError("INVALID_CONFIG", `${problems[0] ?? `${label}: invalid`}${more}`, {
      details: { file: label, problems }
    });
  }
  const { $schema: _schema, timeout, setupTimeout, ...rest } = result.data;
  if (rest.setup && rest.setup.length > 0 && rest.share?.some((entry) => entry.mode === "symlink")) {
    const linked = rest.share.filter((entry) => entry.mode === "symlink").map((entry) => entry.path);
    throw new MiyabiError("INVALID_CONFIG", `${label}: share: "${linked.join('", "')}" is linked (mode "symlink") while setup runs commands: every task's setup would write through the link into the main checkout at once`, {
      hint: 'Use mode "clone" (a copy each worktree owns), or drop setup.',
      details: { file: label, problems: [`share ${linked.join(", ")}: symlink with setup`] }
    });
  }
  return dropUndefined({
    ...DEFAULT_CONFIG,
    ...dropUndefined(rest),
    timeoutMs: timeout,
    ...setupTimeout === void 0 ? {} : { setupTimeoutMs: setupTimeout }
  });
}
var durationField = z.unknown().transform((value, ctx) => {
  if (typeof value === "string") {
    const parsed = checkDuration(value);
    if (parsed.ok)
      return parsed.ms;
    ctx.addIssue({ code: "custom", message: `"${value}" ${parsed.problem}`, input: value });
    return z.NEVER;
  }
  if (typeof value === "number" && Number.isFinite(value) && value > 0 && value <= MAX_DURATION_MS) {
    return Math.round(value);
  }
  ctx.addIssue({
    code: "custom",
    message: `expected a duration like "30m" or a positive number of milliseconds up to 7 days, got ${show(value)}`,
    input: value
  });
  return z.NEVER;
});
var baseBranchField = z.string({ error: "expected a string (a branch name)" }).superRefine((value, ctx) => {
  const problem = branchNameProblem(value);
  if (problem)
    ctx.addIssue({ code: "custom", message: `"${value}" is not a valid branch name: it ${problem}` });
});
var branchPatternField = z.string({ error: "expected a string (a branch name containing {issue})" }).superRefine((value, ctx) => {
  const problem = branchPatternProblem(value);
  if (problem)
    ctx.addIssue({ code: "custom", message: `"${value}" ${problem}` });
});
var positiveInt = "expected a positive integer";
var relativePathField = z.string({ error: "expected a string (a path relative to the repository root)" }).superRefine((value, ctx) => {
  const problem = relativePathProblem(value);
  if (problem)
    ctx.addIssue({ code: "custom", message: `"${value}" ${problem}` });
}).transform(normaliseRelativePath);
var portField = (what) => z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).min(1024, { error: `expected ${what} of at least 1024` }).max(65535, { error: `expected ${what} of at most 65535` });
var argvMessage = 'expected a command as a non-empty array of strings, e.g. ["npm", "ci"]';
var configSchema = z.strictObject({
  $schema: z.string({ error: "expected a string (URL of a JSON schema)" }).optional(),
  worktreeDir: z.string({ error: "expected a string (a folder path)" }).min(1, { error: "expected a non-empty folder path" }).optional(),
  maxConcurrency: z.number({ error: positiveInt }).int({ error: positiveInt }).positive({ error: positiveInt }).max(MAX_CONCURRENCY, { error: `expected at most ${MAX_CONCURRENCY}` }).optional(),
  timeout: durationField.optional(),
  baseBranch: baseBranchField.optional(),
  branchPattern: branchPatternField.optional(),
  setup: z.array(z.array(z.string({ error: "expected a string" }).min(1, { error: "expected a non-empty string" }), {
    error: argvMessage
  }).min(1, { error: argvMessage }), { error: 'expected an array of commands, e.g. [["npm", "ci"]]' }).optional(),
  setupTimeout: durationField.optional(),
  include: z.boolean({ error: "expected true or false" }).optional(),
  reuse: z.boolean({ error: "expected true or false" }).optional(),
  keepPaths: z.array(relativePathField, { error: 'expected an array of paths, e.g. ["node_modules"]' }).optional(),
  maxIdle: z.number({ error: positiveInt }).int({ error: positiveInt }).nonnegative({ error: "expected 0 or more" }).max(MAX_CONCURRENCY * 4, { error: `expected at most ${MAX_CONCURRENCY * 4}` }).optional(),
  ports: z.strictObject({
    base: portField("a port number").optional(),
    count: z.number({ error: positiveInt }).int({ error: positiveInt }).positive({ error: positiveInt }).max(1e3, { error: "expected at most 1000" }).optional()
  }, { error: 'expected an object like { "base": 20000, "count": 10 }' }).superRefine((value, ctx) => {
    const base = value.base ?? DEFAULT_PORTS.base;
    const count = value.count ?? DEFAULT_PORTS.count;
    if (base + count - 1 > 65535) {
      ctx.addIssue({ code: "custom", message: `ports ${base}..${base + count - 1} go beyond 65535` });
    }
  }).transform((value) => ({ ...DEFAULT_PORTS, ...dropUndefined(value) })).optional(),
  share: z.array(z.strictObject({
    path: relativePathField,
    mode: z.enum(["clone", "symlink"], { error: 'expected "clone" or "symlink"' })
  }, { error: 'expected an object like { "path": "node_modules", "mode": "clone" }' }), { error: 'expected an array like [{ "path": "node_modules", "mode": "clone" }]' }).optional(),
  logRetention: z.number({ error: positiveInt }).int({ error: positiveInt }).positive({ error: positiveInt }).max(1e4, { error: "expected at most 10000" }).optional()
}, { error: (issue) => issue.code === "invalid_type" ? "expected a JSON object" : void 0 });
var KNOWN_KEYS = Object.keys(configSchema.shape).filter((key) => key !== "$schema");
function formatIssue(issue, label, pathPrefix) {
  const where = formatPath([...pathPrefix, ...issue.path]);
  const prefix = where ? `${label}: ${where}: ` : `${label}: `;
  if (issue.code === "unrecognized_keys") {
    return `${prefix}${unknownKeys(issue.keys)}`;
  }
  const got = issue.code === "custom" || !("input" in issue) ? "" : `, got ${show(issue.input)}`;
  return `${prefix}${issue.message}${got}`;
}
function unknownKeys(keys) {
  const parts = [];
  const unmatched = [];
  for (const key of keys) {
    const suggestion = closest(key, KNOWN_KEYS);
    if (suggestion)
      parts.push(`unknown key "${key}" (did you mean "${suggestion}"?)`);
    else
      unmatched.push(`"${key}"`);
  }
  if (unmatched.length > 0) {
    const noun = unmatched.length === 1 ? "key" : "keys";
    parts.push(`unknown ${noun} ${unmatched.join(", ")} (known keys: ${KNOWN_KEYS.join(", ")})`);
  }
  return parts.join("; ");
}
function formatPath(path) {
  let out = "";
  for (const part of path) {
    if (typeof part === "number")
      out += `[${part}]`;
    else
      out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}
function show(value) {
  if (value === void 0)
    return "nothing";
  let text;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 39)}\u2026` : text;
}
function closest(word, candidates) {
  let best;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
function editDistance(a, b) {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
function dropUndefined(value) {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== void 0));
}
export {
  parseConfig
};
