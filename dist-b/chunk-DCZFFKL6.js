// dist/config/config-types.js
var CONFIG_FILE_NAME = "miyabi-worktree.config.json";
var PACKAGE_JSON_KEY = "miyabi-worktree";
var MAX_CONCURRENCY = 64;
var DEFAULT_BRANCH_PATTERN = "feature/issue-{issue}";
var DEFAULT_SETUP_TIMEOUT_MS = 6e5;
var DEFAULT_LOG_RETENTION = 50;
var DEFAULT_PORTS = Object.freeze({ base: 2e4, count: 10 });
var DEFAULT_KEEP_PATHS = Object.freeze(["node_modules", ".venv", "target"]);
var DEFAULT_CONFIG = Object.freeze({
  branchPattern: DEFAULT_BRANCH_PATTERN,
  setup: Object.freeze([]),
  setupTimeoutMs: DEFAULT_SETUP_TIMEOUT_MS,
  include: true,
  reuse: false,
  keepPaths: DEFAULT_KEEP_PATHS,
  share: Object.freeze([])
});
function expandBranchPattern(pattern, issueNumber) {
  return pattern.replaceAll("{issue}", String(issueNumber));
}

// dist/errors.js
var MiyabiError = class extends Error {
  name = "MiyabiError";
  code;
  hint;
  git;
  conflicts;
  details;
  constructor(code, message, options = {}) {
    super(message, options.cause === void 0 ? void 0 : { cause: options.cause });
    this.code = code;
    this.hint = options.hint ?? defaultHint(code);
    this.git = options.git;
    this.conflicts = options.conflicts;
    this.details = options.details;
  }
  /** Plain data for logs and `--json` output (Error fields are not enumerable). */
  toJSON() {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      hint: this.hint,
      ...this.conflicts ? { conflicts: this.conflicts } : {},
      ...this.details ? { details: this.details } : {},
      ...this.git ? { git: { args: this.git.args, exitCode: this.git.exitCode, stderr: this.git.stderr } } : {}
    };
  }
};
function isMiyabiError(error, code) {
  return error instanceof MiyabiError && (code === void 0 || error.code === code);
}
function toError(value) {
  if (value instanceof Error)
    return value;
  if (typeof value === "string")
    return new Error(value);
  try {
    return new Error(`Non-error thrown: ${JSON.stringify(value)}`);
  } catch {
    return new Error(`Non-error thrown: ${String(value)}`);
  }
}
function defaultHint(code) {
  switch (code) {
    case "NOT_A_REPOSITORY":
      return "Run it inside a git repository, or pass cwd/repoPath pointing at one.";
    case "BARE_REPOSITORY":
      return "Worktrees need a repository with a working tree; clone it without --bare.";
    case "NO_COMMITS":
      return "Make a first commit (git commit --allow-empty -m init), then try again.";
    case "INVALID_ARGUMENT":
      return "Check the value named in the message.";
    case "INVALID_CONFIG":
      return "Fix the configuration key named in the message.";
    case "NOT_FOUND":
      return "List what exists with listWorktrees().";
    case "ALREADY_EXISTS":
      return "Choose another name, or remove the existing one first.";
    case "BRANCH_IN_USE":
      return "The branch is checked out in another worktree; remove that worktree or pick another branch.";
    case "GIT_FAILED":
      return "The message quotes git's first error line (its whole output is in the error's `git.stderr`, or shown with --verbose); the repository was left as it was.";
    case "LOCKED":
      return "Another process holds the lock; wait for it, or run cleanupAll() if it died.";
    case "TIMEOUT":
      return "Raise the timeout, or make the task faster.";
    case "CANCELLED":
      return "The operation was aborted before it finished; nothing was left half-done.";
    case "NO_REMOTE":
      return "Add the remote first: git remote add origin <url>.";
    case "PUSH_REJECTED":
      return "Fetch and integrate the remote changes, then push again.";
    case "MERGE_CONFLICT":
      return "Resolve the conflicts in the worktree (merge or rebase the target into it), then merge again.";
    case "CHECKOUT_DIRTY":
      return "Commit or stash the local changes in the target checkout, then merge again.";
    case "CHECKOUT_BUSY":
      return "Finish or abort the merge/rebase in the target checkout, then try again.";
    case "WORKTREE_DIRTY":
      return "Commit the changes, or pass force to discard them.";
    case "COMMAND_NOT_FOUND":
      return "Check the command name and your PATH.";
    case "COMMAND_FAILED":
      return "See the command's output.";
    case "NOTHING_COMMITTED":
      return "The task left changes but no commit: commit them (git add -A && git commit) so they can be merged.";
    case "CONFLICT_UNRESOLVED":
      return "Finish the resolution in the worktree (no conflict markers, merge committed), then try again.";
    case "UNMERGED_WORK":
      return "Merge or push that work first, or pass force to delete it anyway.";
    case "FOREIGN_WORKTREE":
      return "The registry names a worktree this tool did not create; it was left alone. Remove it with git worktree remove if it is yours to delete.";
    case "PORTS_EXHAUSTED":
      return "Every port block is held by a worktree or in use: remove worktrees (cleanup), or change ports in the configuration.";
    case "GITHUB_AUTH":
      return "Run `gh auth login`, or set GITHUB_TOKEN (or GH_TOKEN) to a token that can read the repository.";
    case "GITHUB_NOT_FOUND":
      return "Check the owner/repo name and the number, and that your token can see the repository.";
    case "GITHUB_RATE_LIMITED":
      return "GitHub's rate limit is used up; wait until it resets, or use a token with a higher limit.";
    case "GITHUB_API":
      return "See GitHub's message; nothing was changed on our side.";
    case "STATE_UNAVAILABLE":
      return "Make <git common dir>/miyabi a folder this user can write, then try again.";
  }
}

// dist/config/duration.js
var MAX_DURATION_MS = 7 * 24 * 60 * 60 * 1e3;
var UNIT_MS = { d: 864e5, h: 36e5, m: 6e4, s: 1e3, ms: 1 };
var UNIT_ORDER = ["d", "h", "m", "s", "ms"];
var NUMBER = String.raw`(?:\d+(?:\.\d+)?|\.\d+)`;
var BARE = new RegExp(`^${NUMBER}$`);
var COMPONENT = new RegExp(`^(${NUMBER})\\s*(ms|d|h|m|s)`);
function checkDuration(text) {
  const input = text.trim().toLowerCase();
  if (input === "")
    return { ok: false, problem: "is empty" };
  if (input.startsWith("-"))
    return { ok: false, problem: "is negative" };
  const total = BARE.test(input) ? Number(input) * 1e3 : sumComponents(input);
  if (typeof total === "string")
    return { ok: false, problem: total };
  const ms = Math.round(total);
  if (!Number.isFinite(ms))
    return { ok: false, problem: "is not a duration" };
  if (ms <= 0)
    return { ok: false, problem: "must be longer than zero" };
  if (ms > MAX_DURATION_MS)
    return { ok: false, problem: "is longer than the maximum of 7 days" };
  return { ok: true, ms };
}
function sumComponents(input) {
  let rest = input;
  let total = 0;
  let lastRank = -1;
  while (rest !== "") {
    const match = COMPONENT.exec(rest);
    const unit = match?.[2];
    if (!match || unit === void 0)
      return "is not a duration";
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastRank)
      return `is not a duration (units must go from largest to smallest, once each)`;
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[unit];
    rest = rest.slice(match[0].length).trimStart();
  }
  return total;
}
function parseDuration(text, optionName = "duration") {
  const result = checkDuration(text);
  if (result.ok)
    return result.ms;
  throw new MiyabiError("INVALID_ARGUMENT", `${optionName}: "${text.trim()}" ${result.problem}`, {
    hint: `Use a number with a unit, e.g. 30m, 90s, 1h30m or 500ms (a bare number means seconds).`,
    details: { option: optionName }
  });
}
function formatDuration(ms) {
  const value = Number.isFinite(ms) && ms > 0 ? ms : 0;
  if (Math.round(value) < 1e3)
    return `${Math.round(value)}ms`;
  const tenths = Math.round(value / 100);
  if (tenths < 600)
    return `${(tenths / 10).toFixed(1)}s`;
  const seconds = Math.round(value / 1e3);
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m ${pad2(seconds % 60)}s`;
  const minutes = Math.round(value / 6e4);
  return `${Math.floor(minutes / 60)}h ${pad2(minutes % 60)}m`;
}
function pad2(value) {
  return String(value).padStart(2, "0");
}

// dist/git/branch-name.js
function branchNameProblem(name) {
  if (typeof name !== "string")
    return `is not a string (${name === null ? "null" : typeof name})`;
  if (name.trim() === "")
    return "is empty";
  if (/[\s\x00-\x1f\x7f]/.test(name))
    return "contains whitespace or a control character";
  if (/[~^:?*[\\]/.test(name))
    return "contains one of ~ ^ : ? * [ \\";
  if (name.includes(".."))
    return 'contains ".."';
  if (name.includes("@{"))
    return 'contains "@{"';
  if (name.includes("//"))
    return 'contains "//"';
  if (name.startsWith("-"))
    return 'starts with "-"';
  if (name.startsWith("/") || name.endsWith("/"))
    return 'starts or ends with "/"';
  if (name.endsWith("."))
    return 'ends with "."';
  if (name === "@" || name === "HEAD")
    return "is reserved";
  if (name.split("/").some((part) => part.startsWith(".") || part.endsWith(".lock"))) {
    return 'has a path component starting with "." or ending with ".lock"';
  }
  return void 0;
}
var GENERATED_BRANCH_CHARACTERS = /^[A-Za-z0-9._/-]+$/;
function branchPatternProblem(pattern) {
  if (typeof pattern !== "string")
    return `is not a string (${pattern === null ? "null" : typeof pattern})`;
  const unknownPlaceholder = /\{(?!issue\})[^}]*\}/.exec(pattern);
  if (unknownPlaceholder)
    return `has an unknown placeholder ${unknownPlaceholder[0]} (only {issue} is supported)`;
  if (!pattern.includes("{issue}"))
    return 'must contain {issue}, e.g. "feature/issue-{issue}"';
  const name = pattern.replaceAll("{issue}", "123");
  if (!GENERATED_BRANCH_CHARACTERS.test(name))
    return 'may only use letters, digits, ".", "_", "/", "-" and {issue}';
  const problem = branchNameProblem(name);
  return problem ? `gives "${name}", which ${problem}` : void 0;
}

// dist/config/relative-path.js
import { isAbsolute, normalize } from "node:path";
function relativePathProblem(path) {
  if (typeof path !== "string" || path.trim() === "")
    return "is not a non-empty string";
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path))
    return "is absolute (give it relative to the repository root)";
  const normal = normalize(path).replace(/\/+$/, "");
  if (normal === "." || normal === "" || normal === ".." || normal.startsWith("../")) {
    return "leaves the repository (or names its root)";
  }
  if (/[*?[\]!\\#\n]/.test(path))
    return "contains a pattern character (* ? [ ] ! \\ #)";
  if (normal.split("/").includes(".git"))
    return "is inside git's own folder";
  return void 0;
}
function normaliseRelativePath(path) {
  return normalize(path).replace(/\/+$/, "");
}

export {
  CONFIG_FILE_NAME,
  PACKAGE_JSON_KEY,
  MAX_CONCURRENCY,
  DEFAULT_BRANCH_PATTERN,
  DEFAULT_SETUP_TIMEOUT_MS,
  DEFAULT_LOG_RETENTION,
  DEFAULT_PORTS,
  DEFAULT_KEEP_PATHS,
  DEFAULT_CONFIG,
  expandBranchPattern,
  MiyabiError,
  isMiyabiError,
  toError,
  MAX_DURATION_MS,
  checkDuration,
  parseDuration,
  formatDuration,
  branchNameProblem,
  GENERATED_BRANCH_CHARACTERS,
  branchPatternProblem,
  relativePathProblem,
  normaliseRelativePath
};
