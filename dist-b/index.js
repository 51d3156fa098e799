import {
  CONFIG_FILE_NAME,
  DEFAULT_BRANCH_PATTERN,
  DEFAULT_CONFIG,
  DEFAULT_KEEP_PATHS,
  DEFAULT_LOG_RETENTION,
  DEFAULT_PORTS,
  DEFAULT_SETUP_TIMEOUT_MS,
  GENERATED_BRANCH_CHARACTERS,
  MAX_CONCURRENCY,
  MAX_DURATION_MS,
  MiyabiError,
  PACKAGE_JSON_KEY,
  branchNameProblem,
  branchPatternProblem,
  checkDuration,
  expandBranchPattern,
  formatDuration,
  isMiyabiError,
  normaliseRelativePath,
  parseDuration,
  relativePathProblem,
  toError
} from "./chunk-DCZFFKL6.js";

// dist/config/load-config.js
import { readFile } from "node:fs/promises";
import { join } from "node:path";

// dist/config/parse-json-text.js
var REASONS = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a double-quoted property name",
  ValueExpected: "expected a value",
  ColonExpected: "expected ':' after the property name",
  CommaExpected: "expected ',' between items",
  CloseBraceExpected: "expected ',' or '}'",
  CloseBracketExpected: "expected ',' or ']'",
  EndOfFileExpected: "unexpected text after the JSON value",
  InvalidCommentToken: "comments are not allowed",
  UnexpectedEndOfComment: "comments are not allowed",
  UnexpectedEndOfString: "unterminated string",
  UnexpectedEndOfNumber: "invalid number",
  InvalidUnicode: "bad \\u escape in string",
  InvalidEscapeCharacter: "bad escape sequence in string",
  InvalidCharacter: "control character in string (escape it)"
};
async function locateJsonError(text) {
  const { parse, printParseErrorCode } = await import("jsonc-parser");
  const errors = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first)
    return void 0;
  if (first.offset >= text.length)
    return { offset: text.length, reason: "unexpected end of file" };
  const before = text.slice(0, first.offset).trimEnd();
  const here = text[first.offset];
  if (before.endsWith(",") && (here === "}" || here === "]")) {
    return { offset: first.offset, reason: `trailing comma before '${here}'` };
  }
  const reason2 = REASONS[printParseErrorCode(first.error)] ?? "invalid JSON";
  return {
    offset: first.offset,
    reason: reason2 === "unexpected character" ? `${reason2} ${JSON.stringify(here)}` : reason2
  };
}
async function parseJsonText(text, label) {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (error) {
    const found = await locateJsonError(body) ?? { offset: 0, reason: "invalid JSON" };
    const { line, column } = lineColumn(body, found.offset);
    throw new MiyabiError("INVALID_CONFIG", `${label}: invalid JSON at line ${line}, column ${column}: ${found.reason}`, {
      cause: error,
      hint: `Fix the JSON syntax of ${label} (no comments or trailing commas).`,
      details: { file: label, line, column, offset: found.offset }
    });
  }
}
function lineColumn(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

// dist/config/load-config.js
async function loadConfig(repoRoot) {
  const filePath = join(repoRoot, CONFIG_FILE_NAME);
  const packagePath = join(repoRoot, "package.json");
  const fileText = await readOptional(filePath, CONFIG_FILE_NAME);
  if (fileText !== null) {
    const data = await parseJsonText(fileText, CONFIG_FILE_NAME);
    const { parseConfig: parseConfig2 } = await import("./config-schema-FOXO25QP.js");
    const config2 = parseConfig2(data, CONFIG_FILE_NAME);
    const warnings = await packageHasKey(packagePath) ? [`package.json "${PACKAGE_JSON_KEY}" is ignored because ${CONFIG_FILE_NAME} exists`] : [];
    return { config: config2, source: filePath, warnings };
  }
  const packageText = await readOptional(packagePath, "package.json");
  if (packageText === null)
    return { config: DEFAULT_CONFIG, source: null, warnings: [] };
  const manifest = await parseJsonText(packageText, "package.json");
  if (!isRecord(manifest) || !(PACKAGE_JSON_KEY in manifest)) {
    return { config: DEFAULT_CONFIG, source: null, warnings: [] };
  }
  const { parseConfig } = await import("./config-schema-FOXO25QP.js");
  const config = parseConfig(manifest[PACKAGE_JSON_KEY], "package.json", [PACKAGE_JSON_KEY]);
  return { config, source: packagePath, warnings: [] };
}
async function readOptional(path, label) {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (error.code === "ENOENT")
      return null;
    throw new MiyabiError("INVALID_CONFIG", `${label}: cannot be read: ${error.message}`, {
      cause: error,
      hint: `Make ${label} a readable file, or remove it.`,
      details: { file: label }
    });
  }
}
async function packageHasKey(path) {
  try {
    const manifest = JSON.parse(await readFile(path, "utf8"));
    return isRecord(manifest) && PACKAGE_JSON_KEY in manifest;
  } catch {
    return false;
  }
}
function isRecord(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// dist/git/run-git.js
import { spawn } from "node:child_process";

// dist/process/proc-stat.js
import { existsSync, readdirSync, readFileSync } from "node:fs";
var HAS_PROC = existsSync("/proc/self/stat");
function readProcStat(pid) {
  let stat8;
  try {
    stat8 = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return void 0;
  }
  const fields = stat8.slice(stat8.lastIndexOf(")") + 2).split(" ");
  const state = fields[0] ?? "";
  return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), live: state !== "Z" && state !== "X" };
}
function listProcessIds() {
  try {
    return readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).map(Number);
  } catch {
    return void 0;
  }
}
function listProcStats() {
  const pids = listProcessIds();
  if (!pids)
    return void 0;
  const stats = [];
  for (const pid of pids) {
    const stat8 = readProcStat(pid);
    if (stat8)
      stats.push(stat8);
  }
  return stats;
}

// dist/process/process-groups.js
var live = /* @__PURE__ */ new Map();
var refusing = false;
function rememberGroup(pid, protectedCheckout) {
  live.set(pid, protectedCheckout);
  if (refusing && !protectedCheckout)
    killGroup(pid, "SIGKILL");
}
function forgetGroup(pid) {
  live.delete(pid);
}
function trackedGroups() {
  return [...live];
}
function refuseNewProcesses() {
  refusing = true;
}
function newProcessesRefused() {
  return refusing;
}
function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
  } catch (error) {
    return error.code === "EPERM";
  }
  return HAS_PROC ? procGroupHasLiveMember(pid) : true;
}
function procGroupHasLiveMember(pgid) {
  return listProcStats()?.some((stat8) => stat8.pgid === pgid && stat8.live) ?? true;
}
function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
  }
}
function killAllProcessGroups(signal = "SIGKILL") {
  let count = 0;
  for (const pid of live.keys()) {
    if (groupAlive(pid)) {
      killGroup(pid, signal);
      count++;
    }
  }
  return count;
}
function liveProcessGroupCount() {
  return [...live.keys()].filter(groupAlive).length;
}

// dist/process/repository-env.js
var REPOSITORY_ENV_VARS = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_IMPLICIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_COMMON_DIR",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_GRAFT_FILE",
  "GIT_NO_REPLACE_OBJECTS",
  "GIT_REPLACE_REF_BASE",
  "GIT_SHALLOW_FILE",
  "GIT_PREFIX",
  "GIT_INTERNAL_SUPER_PREFIX",
  "GIT_NAMESPACE",
  "GIT_CEILING_DIRECTORIES"
];
var REPOSITORY_ENV = new Set(REPOSITORY_ENV_VARS);
function withoutRepositoryEnv(env = process.env) {
  const out = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== void 0 && !REPOSITORY_ENV.has(key))
      out[key] = value;
  }
  return out;
}

// dist/process/terminate.js
var POLL_MS = 25;
async function terminate(target, options = {}) {
  if (!target.alive())
    return "already-gone";
  target.send("SIGTERM");
  if (await goneWithin(target, options.graceMs ?? 2e3))
    return "exited";
  target.send("SIGKILL");
  return await goneWithin(target, options.killWaitMs ?? 5e3) ? "killed" : "survived";
}
function processGroup(pgid) {
  return { send: (signal) => killGroup(pgid, signal), alive: () => groupAlive(pgid) };
}
async function goneWithin(target, ms) {
  const deadline = Date.now() + ms;
  while (target.alive()) {
    if (Date.now() >= deadline)
      return false;
    await new Promise((resolve7) => setTimeout(resolve7, POLL_MS));
  }
  return true;
}

// dist/git/run-git.js
var DEFAULT_TIMEOUT_MS = 12e4;
function gitEnv(extra) {
  const env = withoutRepositoryEnv();
  env.GIT_TERMINAL_PROMPT = "0";
  env.LC_ALL = "C";
  env.LANGUAGE = "C";
  env.GIT_EDITOR = "true";
  env.GIT_PAGER = "cat";
  env.GIT_OPTIONAL_LOCKS = "0";
  env.GIT_SSH_COMMAND ??= "ssh -oBatchMode=yes";
  return extra ? { ...env, ...extra } : env;
}
async function runGit(args, options) {
  const okExitCodes = options.okExitCodes ?? [0];
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (options.signal?.aborted || newProcessesRefused())
    throw cancelled(args, options.cwd, options.signal);
  const outcome = await spawnGit(args, options, timeoutMs);
  const { stdout, stderr, exitCode } = outcome;
  if (exitCode !== void 0 && okExitCodes.includes(exitCode) && !outcome.aborted && !outcome.timedOut) {
    return { stdout, stderr, exitCode, durationMs: outcome.durationMs };
  }
  const failure2 = {
    args: [...args],
    cwd: options.cwd,
    exitCode,
    signal: outcome.signal,
    stderr: stderr.trim(),
    stdout,
    durationMs: outcome.durationMs,
    timedOut: outcome.timedOut,
    aborted: outcome.aborted
  };
  const command = `git ${args.join(" ")}`;
  if (outcome.aborted)
    throw cancelled(args, options.cwd, options.signal, failure2);
  if (outcome.timedOut) {
    throw new MiyabiError("TIMEOUT", `${command} timed out after ${timeoutMs} ms`, {
      git: failure2,
      hint: "git did not answer in time; a remote may be unreachable or a hook may hang."
    });
  }
  if (outcome.spawnError) {
    throw new MiyabiError("GIT_FAILED", `could not run git: ${outcome.spawnError.message}`, {
      git: failure2,
      hint: "Install git (>= 2.38) and make sure it is on PATH.",
      cause: outcome.spawnError
    });
  }
  throw new MiyabiError("GIT_FAILED", `${command} failed (exit ${exitCode}): ${firstLine(stderr) || "no message"}`, {
    git: failure2,
    ...lockFileHint(stderr)
  });
}
function lockFileInTheWay(stderr) {
  return /Unable to create '([^']+\.lock)': File exists/.exec(stderr)?.[1];
}
function lockFileHint(stderr) {
  const lockFile = lockFileInTheWay(stderr);
  if (!lockFile)
    return {};
  return {
    hint: `git's lock file ${lockFile} exists: another git process is writing, or one that was killed left it. If no git process runs in this repository, \`miyabi-worktree cleanup\` (cleanupAll) deletes it, or delete it by hand.`
  };
}
var OWN_GROUP = process.platform !== "win32";
var PIPE_DRAIN_MS = 500;
function spawnGit(args, options, timeoutMs) {
  return new Promise((resolve7) => {
    const started = performance.now();
    const child = spawn("git", args, {
      cwd: options.cwd,
      env: gitEnv(options.env),
      stdio: [options.input === void 0 ? "ignore" : "pipe", "pipe", "pipe"],
      detached: OWN_GROUP
    });
    const pid = child.pid;
    if (OWN_GROUP && pid !== void 0)
      rememberGroup(pid, options.protectedCheckout);
    const out = [];
    const err = [];
    child.stdout?.on("data", (chunk) => out.push(chunk));
    child.stderr?.on("data", (chunk) => err.push(chunk));
    let timedOut2 = false;
    let aborted = false;
    let spawnError;
    let terminating = false;
    const target = OWN_GROUP && pid !== void 0 ? processGroup(pid) : {
      send: (signal) => child.kill(signal),
      alive: () => child.exitCode === null && child.signalCode === null
    };
    const kill = () => {
      if (terminating)
        return;
      terminating = true;
      void terminate(target).then(() => {
        if (pid !== void 0)
          forgetGroup(pid);
      });
    };
    const timer = setTimeout(() => {
      timedOut2 = true;
      kill();
    }, timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.once("error", (error) => {
      spawnError = error;
    });
    if (options.input !== void 0) {
      child.stdin?.on("error", () => {
      });
      child.stdin?.end(options.input);
    }
    let settled = false;
    const settle = (code, signal) => {
      if (settled)
        return;
      settled = true;
      clearTimeout(timer);
      if (pid !== void 0 && !terminating)
        forgetGroup(pid);
      options.signal?.removeEventListener("abort", onAbort);
      resolve7({
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        exitCode: spawnError ? void 0 : code ?? void 0,
        signal: signal ?? void 0,
        durationMs: Math.round(performance.now() - started),
        timedOut: timedOut2,
        aborted,
        spawnError
      });
    };
    child.once("close", settle);
    child.once("exit", (code, signal) => {
      if (!timedOut2 && !aborted)
        return;
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        settle(code, signal);
      }, PIPE_DRAIN_MS).unref();
    });
  });
}
function cancelled(args, cwd, signal, git) {
  return new MiyabiError("CANCELLED", `git ${args[0] ?? ""} was cancelled`, {
    cause: signal?.reason,
    ...git ? { git } : { git: emptyFailure(args, cwd) }
  });
}
function emptyFailure(args, cwd) {
  return {
    args: [...args],
    cwd,
    exitCode: void 0,
    signal: void 0,
    stderr: "",
    stdout: "",
    durationMs: 0,
    timedOut: false,
    aborted: true
  };
}
function firstLine(stderr) {
  for (const line of stderr.split("\n")) {
    const trimmed = line.trim();
    if (trimmed && !trimmed.startsWith("hint:"))
      return trimmed;
  }
  return "";
}
var TRANSIENT_PATTERNS = [
  /could not lock config file/i,
  /failed to read .*commondir/i,
  /failed to read .*gitdir/i,
  /Unable to create '.*\.lock': File exists/i,
  /cannot lock ref/i,
  /unable to lock/i
];
function isTransientGitError(error) {
  if (!(error instanceof MiyabiError) || error.code !== "GIT_FAILED" || !error.git)
    return false;
  const text = error.git.stderr;
  return TRANSIENT_PATTERNS.some((pattern) => pattern.test(text));
}
function gitStderr(error) {
  return error instanceof MiyabiError && error.git ? error.git.stderr : "";
}

// dist/git/branch-summary.js
async function branchSummary(options) {
  const range = `${options.base}..${options.head}`;
  const log = await runGit(["log", "--reverse", "-z", "--format=%H%x00%s", range, "--"], {
    cwd: options.cwd,
    signal: options.signal
  });
  const fields = log.stdout.split("\0").map((field) => field.replace(/^\n/, ""));
  const commits = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const sha = fields[i] ?? "";
    if (/^[0-9a-f]{40,64}$/.test(sha))
      commits.push({ sha, subject: fields[i + 1] ?? "" });
  }
  const diff = await runGit(["diff", "--name-only", "-z", `${options.base}...${options.head}`, "--"], {
    cwd: options.cwd,
    signal: options.signal
  });
  const filesChanged = diff.stdout.split("\0").filter((path) => path !== "");
  return { commits, filesChanged };
}

// dist/github/redact.js
function redact(text, secret) {
  if (!secret || secret.length < 4)
    return text;
  return text.split(secret).join("[REDACTED]");
}
function redactValue(value, secret) {
  if (typeof value === "string")
    return redact(value, secret);
  if (value === null || typeof value !== "object" || !secret)
    return value;
  try {
    return JSON.parse(redact(JSON.stringify(value), secret));
  } catch {
    return "[unserialisable]";
  }
}

// dist/github/api-errors.js
function isRequestError(error) {
  return error instanceof Error && typeof error.status === "number";
}
function toGitHubError(error, what, token) {
  if (isMiyabiError(error))
    return error;
  if (error instanceof Error && error.name === "AbortError") {
    return new MiyabiError("CANCELLED", `${what}: cancelled`);
  }
  if (!isRequestError(error)) {
    const message = redact(error instanceof Error ? error.message : String(error), token);
    return new MiyabiError("GITHUB_API", `${what}: ${message}`, {
      hint: "GitHub could not be reached; check the network and --github-api-url."
    });
  }
  const status = error.status;
  const apiMessage = redact(apiMessageOf(error), token);
  const details2 = { status };
  if (status === 401) {
    return new MiyabiError("GITHUB_AUTH", `${what}: GitHub refused the token (401 ${apiMessage})`, {
      details: details2
    });
  }
  if (status === 404 || status === 410) {
    return new MiyabiError("GITHUB_NOT_FOUND", `${what}: not found (${status} ${apiMessage})`, { details: details2 });
  }
  if ((status === 403 || status === 429) && isRateLimit(error)) {
    return new MiyabiError("GITHUB_RATE_LIMITED", `${what}: ${apiMessage}`, { details: details2 });
  }
  return new MiyabiError("GITHUB_API", `${what}: GitHub answered ${status}: ${apiMessage}`, { details: details2 });
}
function apiMessageOf(error) {
  const data = error.response?.data;
  if (data && typeof data === "object" && "message" in data && typeof data.message === "string") {
    const errors = data.errors;
    const extra = Array.isArray(errors) ? errors.map((item) => item && typeof item === "object" && "message" in item && typeof item.message === "string" ? item.message : item && typeof item === "object" && "code" in item ? String(item.code) : "").filter(Boolean) : [];
    return extra.length > 0 ? `${data.message}: ${extra.join("; ")}` : data.message;
  }
  return error.message.replace(/\s*-\s*https:\/\/docs\.github\.com\S*$/, "");
}
function isRateLimit(error) {
  return error.response?.headers?.["x-ratelimit-remaining"] === "0" || /rate limit/i.test(error.message);
}

// dist/log.js
var noop = () => {
};
var silentLogger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
function safeLog(logger, level, fields, message) {
  try {
    logger[level](fields, message);
  } catch {
  }
}

// dist/github/token.js
import { execFile } from "node:child_process";
async function resolveGitHubToken(options = {}) {
  const env = options.env ?? process.env;
  const candidates = [
    ["option", options.token],
    ["GITHUB_TOKEN", env.GITHUB_TOKEN],
    ["GH_TOKEN", env.GH_TOKEN]
  ];
  for (const [source, value] of candidates) {
    const token = value?.trim();
    if (token)
      return { token, source };
  }
  const fromGh = await ghAuthToken(env, options.host ?? "github.com", options.ghTimeoutMs ?? 1e4);
  if (fromGh)
    return { token: fromGh, source: "gh" };
  throw new MiyabiError("GITHUB_AUTH", "no GitHub token: GITHUB_TOKEN and GH_TOKEN are unset and `gh auth token` gave none");
}
function ghAuthToken(env, host, timeoutMs) {
  return new Promise((resolve7) => {
    execFile("gh", ["auth", "token", "--hostname", host], { env, timeout: timeoutMs, windowsHide: true, encoding: "utf8", maxBuffer: 64 * 1024 }, (error, stdout) => {
      const token = error ? "" : stdout.trim();
      resolve7(token && /^[\x21-\x7e]+$/.test(token) ? token : void 0);
    }).stdin?.end();
  });
}

// dist/github/client.js
var DEFAULT_GITHUB_API_URL = "https://api.github.com";
var MAX_RATE_LIMIT_RETRIES = 3;
async function createGitHubClient(options = {}) {
  const baseUrl = normaliseBaseUrl(options.baseUrl ?? DEFAULT_GITHUB_API_URL);
  const { token, source } = await resolveGitHubToken({
    token: options.token,
    env: options.env,
    host: ghHostFor(baseUrl)
  });
  const logger = options.logger ?? silentLogger;
  const maxWait = options.maxRateLimitWaitSeconds ?? 300;
  const [{ Octokit: Core }, { paginateRest }, { retry }, { throttling }] = await Promise.all([
    import("@octokit/core"),
    import("@octokit/plugin-paginate-rest"),
    import("@octokit/plugin-retry"),
    import("@octokit/plugin-throttling")
  ]);
  const Client = Core.plugin(paginateRest, retry, throttling);
  const log = (level) => (message, extra) => safeLog(logger, level, extra === void 0 ? {} : { detail: redactValue(extra, token) }, redact(String(message), token));
  const onLimit = (kind) => (retryAfter, request, _octokit, retryCount) => {
    const retrying = retryCount < MAX_RATE_LIMIT_RETRIES && retryAfter <= maxWait;
    safeLog(logger, "warn", { method: request.method, url: request.url, retryAfterSeconds: retryAfter, retryCount }, retrying ? `GitHub ${kind} hit: waiting ${retryAfter} s, then retrying` : `GitHub ${kind} hit: giving up`);
    return retrying;
  };
  const octokit = new Client({
    auth: token,
    baseUrl,
    userAgent: "miyabi-worktree",
    log: { debug: () => {
    }, info: () => {
    }, warn: log("warn"), error: log("error") },
    throttle: {
      onRateLimit: onLimit("rate limit"),
      onSecondaryRateLimit: onLimit("secondary rate limit"),
      ...options.pacing === "off" ? unpaced() : {}
    }
  });
  return {
    octokit,
    baseUrl,
    tokenSource: source,
    toError: (error, what) => toGitHubError(error, what, token),
    redact: (text) => redact(text, token)
  };
}
function withSignal(signal) {
  return signal ? { request: { signal } } : {};
}
function unpaced() {
  const group = { key: () => ({ schedule: (_options, job) => job() }) };
  return { write: group, search: group, notifications: group };
}
function normaliseBaseUrl(value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new MiyabiError("INVALID_ARGUMENT", `"${value}" is not a URL for the GitHub API`, {
      hint: "Pass the REST API root, e.g. https://api.github.com or https://ghe.example.com/api/v3."
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new MiyabiError("INVALID_ARGUMENT", `the GitHub API URL must be http(s), not ${url.protocol}`, {
      hint: "Pass the REST API root, e.g. https://api.github.com or https://ghe.example.com/api/v3."
    });
  }
  if (url.username || url.password) {
    throw new MiyabiError("INVALID_ARGUMENT", "the GitHub API URL must not carry credentials", {
      hint: "Pass the token through GITHUB_TOKEN (or `gh auth login`), not in the URL."
    });
  }
  return url.href.replace(/\/+$/, "");
}
function ghHostFor(baseUrl) {
  const host = new URL(baseUrl).host;
  return host === "api.github.com" ? "github.com" : host;
}

// dist/github/issue-text.js
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
var ISSUE_TEXT_LIMIT_BYTES = 16 * 1024;
var ISSUE_FILE_VAR = "MIYABI_ISSUE_FILE";
function truncateIssueText(text, limitBytes = ISSUE_TEXT_LIMIT_BYTES) {
  const clean = text.replaceAll("\0", "");
  const bytes = Buffer.from(clean, "utf8");
  if (bytes.length <= limitBytes)
    return clean;
  const note = (shown) => `

[miyabi-worktree: cut to ${shown} of ${bytes.length} bytes; the whole text is in the file $${ISSUE_FILE_VAR}]`;
  let cut = Math.max(0, limitBytes - Buffer.byteLength(note(limitBytes)));
  while (cut > 0 && ((bytes[cut] ?? 0) & 192) === 128)
    cut--;
  return `${bytes.subarray(0, cut).toString("utf8")}${note(cut)}`;
}
function issueEnvironment(context, options = {}) {
  const limit = options.limitBytes ?? ISSUE_TEXT_LIMIT_BYTES;
  return {
    MIYABI_ISSUE_TITLE: truncateIssueText(context.title, limit),
    MIYABI_ISSUE_BODY: truncateIssueText(context.body, limit),
    MIYABI_ISSUE_URL: truncateIssueText(context.url, limit),
    MIYABI_ISSUE_LABELS: truncateIssueText(context.labels.join(","), limit),
    ...options.file !== void 0 ? { [ISSUE_FILE_VAR]: options.file } : {}
  };
}
async function writeIssueFile(context, path) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, context.body, { encoding: "utf8", mode: 384 });
  return path;
}
var ISSUE_PLACEHOLDERS = ["{title}", "{body}", "{url}", "{labels}"];
function issuePlaceholderValues(context, limitBytes = ISSUE_TEXT_LIMIT_BYTES) {
  return {
    "{title}": truncateIssueText(context.title, limitBytes),
    "{body}": truncateIssueText(context.body, limitBytes),
    "{url}": truncateIssueText(context.url, limitBytes),
    "{labels}": truncateIssueText(context.labels.join(","), limitBytes)
  };
}
function expandIssuePlaceholders(argv, context) {
  const values = issuePlaceholderValues(context);
  return argv.map((arg) => arg.replace(/\{(?:title|body|url|labels)\}/g, (token) => values[token]));
}

// dist/github/repo-slug.js
var OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
var NAME = /^[A-Za-z0-9._-]{1,100}$/;
function parseRepoSlug(slug) {
  const parts = slug.trim().split("/");
  const [owner, repo] = parts;
  if (parts.length !== 2 || !owner || !repo || !OWNER.test(owner) || !NAME.test(repo) || /^\.+$/.test(repo)) {
    throw new MiyabiError("INVALID_ARGUMENT", `"${slug}" is not a GitHub repository name`, {
      hint: "Name it as owner/repo, e.g. octocat/hello-world."
    });
  }
  return { owner, repo: repo.replace(/\.git$/, "") };
}
function toRepo(repo) {
  return typeof repo === "string" ? parseRepoSlug(repo) : parseRepoSlug(`${repo.owner}/${repo.repo}`);
}
function repoSlug(repo) {
  return `${repo.owner}/${repo.repo}`;
}
function repoFromRemoteUrl(url) {
  const text = url.trim();
  let host;
  let path;
  const scpLike = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/)(.+)$/.exec(text);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let parsed;
    try {
      parsed = new URL(text);
    } catch {
      return void 0;
    }
    if (!["https:", "http:", "ssh:", "git:", "git+ssh:", "ssh+git:"].includes(parsed.protocol))
      return void 0;
    host = parsed.hostname;
    path = decodeURIComponent(parsed.pathname);
  } else if (scpLike?.[1] && scpLike[2]) {
    host = scpLike[1];
    path = scpLike[2];
  } else {
    return void 0;
  }
  const segments = path.replace(/\/+$/, "").replace(/\.git$/, "").split("/").filter(Boolean);
  const owner = segments.at(-2);
  const repo = segments.at(-1);
  if (!owner || !repo || !OWNER.test(owner) || !NAME.test(repo))
    return void 0;
  return { host, owner, repo };
}
function apiUrlForHost(host) {
  return host === "github.com" || host === "www.github.com" ? "https://api.github.com" : `https://${host}/api/v3`;
}

// dist/github/issue-task.js
function labelNames(issue) {
  return (issue.labels ?? []).map((label) => typeof label === "string" ? label : label.name ?? "").filter((name) => name !== "");
}
function issueContext(issue) {
  return { title: issue.title, body: issue.body ?? "", url: issue.html_url, labels: labelNames(issue) };
}
function issueToTask(issue, repo) {
  return {
    issueNumber: issue.number,
    description: issue.title,
    context: issueContext(issue),
    metadata: { github: { repo: repoSlug(repo), url: issue.html_url } }
  };
}
function isPullRequest(issue) {
  return issue.pull_request !== void 0 && issue.pull_request !== null;
}

// dist/github/issues.js
var FETCH_CONCURRENCY = 4;
async function issuesFromGitHub(options) {
  const repo = toRepo(options.repo);
  const issues = options.issues ? [...new Set(options.issues)] : void 0;
  for (const number of issues ?? []) {
    if (!Number.isSafeInteger(number) || number < 1) {
      throw new MiyabiError("INVALID_ARGUMENT", `${number} is not an issue number`, {
        hint: "Issue numbers are positive integers."
      });
    }
  }
  const hasFilter = (options.labels?.length ?? 0) > 0 || options.milestone !== void 0 || (options.query ?? "").trim() !== "";
  if (!issues && !hasFilter) {
    throw new MiyabiError("INVALID_ARGUMENT", "say which issues to take: issue numbers, labels, a milestone or a query", {
      hint: "Pass --issues, --label, --milestone or --query."
    });
  }
  const client = options.client ?? await createGitHubClient(options);
  const signal = options.signal;
  await assertRepository(client, repo, signal);
  const listed = hasFilter ? await listByFilters(client, repo, options) : void 0;
  const tasks = [];
  const skipped = [];
  const take = (issue) => {
    if (isPullRequest(issue) && !options.includePullRequests) {
      skipped.push({ issueNumber: issue.number, reason: "pull-request", title: issue.title });
    } else if (issue.state === "closed" && !options.includeClosed) {
      skipped.push({ issueNumber: issue.number, reason: "closed", title: issue.title });
    } else {
      tasks.push(issueToTask(issue, repo));
    }
  };
  if (!issues) {
    for (const issue of listed ?? [])
      take(issue);
    return { tasks, skipped, repo };
  }
  const matching = listed ? new Map(listed.map((issue) => [issue.number, issue])) : void 0;
  const fetched = await mapLimit(issues, FETCH_CONCURRENCY, (number) => getIssue(client, repo, number, signal));
  issues.forEach((number, index) => {
    const issue = fetched[index];
    if (!issue)
      skipped.push({ issueNumber: number, reason: "not-found" });
    else if (matching && !matching.has(number) && !isPullRequest(issue) && issue.state !== "closed")
      skipped.push({ issueNumber: number, reason: "not-matching", title: issue.title });
    else
      take(issue);
  });
  return { tasks, skipped, repo };
}
async function assertRepository(client, repo, signal) {
  try {
    await client.octokit.request("GET /repos/{owner}/{repo}", { ...repo, ...withSignal(signal) });
  } catch (error) {
    const mapped = client.toError(error, `read repository ${repoSlug(repo)}`);
    if (mapped.code === "GITHUB_NOT_FOUND") {
      throw new MiyabiError("GITHUB_NOT_FOUND", `repository ${repoSlug(repo)} not found on GitHub`, {
        hint: "Check the owner/repo name, and that your token can see the repository (private ones need the repo scope).",
        details: { repo: repoSlug(repo) }
      });
    }
    throw mapped;
  }
}
async function getIssue(client, repo, number, signal) {
  try {
    const response = await client.octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}", {
      ...repo,
      issue_number: number,
      ...withSignal(signal)
    });
    return response.data;
  } catch (error) {
    const mapped = client.toError(error, `read issue #${number} of ${repoSlug(repo)}`);
    if (mapped.code === "GITHUB_NOT_FOUND")
      return void 0;
    throw mapped;
  }
}
async function listByFilters(client, repo, options) {
  const query = (options.query ?? "").trim();
  if (query !== "")
    return searchIssues(client, repo, query, options);
  const milestone = options.milestone === void 0 ? void 0 : await milestoneNumber(client, repo, options.milestone, options.signal);
  try {
    const issues = await client.octokit.paginate("GET /repos/{owner}/{repo}/issues", {
      ...repo,
      state: options.includeClosed ? "all" : "open",
      sort: "created",
      direction: "asc",
      per_page: 100,
      ...options.labels?.length ? { labels: options.labels.join(",") } : {},
      ...milestone !== void 0 ? { milestone } : {},
      ...withSignal(options.signal)
    });
    return issues;
  } catch (error) {
    throw client.toError(error, `list issues of ${repoSlug(repo)}`);
  }
}
async function milestoneNumber(client, repo, milestone, signal) {
  const text = String(milestone).trim();
  if (/^(?:\d+|\*|none)$/.test(text))
    return text;
  let milestones;
  try {
    milestones = await client.octokit.paginate("GET /repos/{owner}/{repo}/milestones", {
      ...repo,
      state: "all",
      per_page: 100,
      ...withSignal(signal)
    });
  } catch (error) {
    throw client.toError(error, `list milestones of ${repoSlug(repo)}`);
  }
  const found = milestones.find((item) => item.title === text) ?? milestones.find((item) => item.title.toLowerCase() === text.toLowerCase());
  if (!found) {
    throw new MiyabiError("GITHUB_NOT_FOUND", `${repoSlug(repo)} has no milestone "${text}"`, {
      hint: "Check the milestone title (or pass its number).",
      details: { repo: repoSlug(repo), milestone: text }
    });
  }
  return String(found.number);
}
async function searchIssues(client, repo, query, options) {
  const quote = (value) => `"${value.replaceAll('"', "")}"`;
  const parts = [`repo:${repoSlug(repo)}`, query];
  for (const label of options.labels ?? [])
    parts.push(`label:${quote(label)}`);
  if (options.milestone !== void 0)
    parts.push(`milestone:${quote(String(options.milestone))}`);
  if (!options.includeClosed && !/(?:^|\s)(?:is|state):(?:open|closed)\b/i.test(query))
    parts.push("is:open");
  try {
    const items = await client.octokit.paginate("GET /search/issues", {
      q: parts.join(" "),
      sort: "created",
      order: "asc",
      per_page: 100,
      ...withSignal(options.signal)
    });
    return items;
  } catch (error) {
    throw client.toError(error, `search issues of ${repoSlug(repo)}`);
  }
}
async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// dist/github/origin-repo.js
async function repoFromOrigin(options) {
  const remote = options.remote ?? "origin";
  const result = await runGit(["remote", "get-url", "--", remote], {
    cwd: options.cwd,
    signal: options.signal,
    okExitCodes: [0, 2]
  });
  if (result.exitCode !== 0) {
    throw new MiyabiError("NO_REMOTE", `the repository has no remote '${remote}' to take owner/repo from`, {
      hint: "Name the repository: --github owner/repo."
    });
  }
  const url = result.stdout.trim();
  const parsed = repoFromRemoteUrl(url);
  if (!parsed) {
    throw new MiyabiError("INVALID_ARGUMENT", `the URL of remote '${remote}' names no GitHub owner/repo`, {
      hint: "Name the repository: --github owner/repo.",
      // The URL itself may carry credentials (https://user:token@host/...): it is not repeated.
      details: { remote }
    });
  }
  return parsed;
}

// dist/github/pr-body.js
var MAX_COMMITS = 50;
var MAX_FILES = 100;
var MAX_OUTPUT_CHARS = 4e3;
function prBody(input) {
  const commits = input.commits ?? [];
  const files = input.filesChanged ?? [];
  const sections = [`Closes #${input.issueNumber}`];
  const facts = [
    input.commits ? `- Commits: ${commits.length}` : void 0,
    input.filesChanged ? `- Files changed: ${files.length}` : void 0,
    input.durationMs !== void 0 ? `- Duration: ${formatDuration2(input.durationMs)}` : void 0
  ].filter((line) => line !== void 0);
  if (facts.length > 0)
    sections.push(["### Summary", ...facts].join("\n"));
  if (commits.length > 0) {
    const lines = commits.slice(0, MAX_COMMITS).map((commit) => `- ${commit.sha.slice(0, 7)} ${oneLine(commit.subject)}`);
    sections.push(["### Commits", ...lines, ...more(commits.length, MAX_COMMITS)].join("\n"));
  }
  if (files.length > 0) {
    const lines = files.slice(0, MAX_FILES).map((file) => `- ${codeSpan(file)}`);
    sections.push(["### Files changed", ...lines, ...more(files.length, MAX_FILES)].join("\n"));
  }
  const output = (typeof input.lastLines === "string" ? input.lastLines : (input.lastLines ?? []).join("\n")).replaceAll("\0", "").trimEnd();
  if (output !== "") {
    const text = output.length > MAX_OUTPUT_CHARS ? `\u2026${output.slice(-MAX_OUTPUT_CHARS)}` : output;
    sections.push(`### Last output lines
${codeBlock(text)}`);
  }
  const title = input.issueTitle ? ` (${oneLine(input.issueTitle)})` : "";
  const link = input.issueUrl ? `[#${input.issueNumber}](${input.issueUrl})` : `#${input.issueNumber}`;
  sections.push(`---
Issue: ${link}${title} \xB7 opened by miyabi-worktree`);
  return `${sections.join("\n\n")}
`;
}
function more(total, shown) {
  return total > shown ? [`- \u2026 and ${total - shown} more`] : [];
}
function oneLine(text) {
  return text.replaceAll("\0", "").replace(/\s+/g, " ").trim();
}
function codeSpan(text) {
  const fence = "`".repeat(longestRun(text, "`") + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${oneLine(text)}${pad}${fence}`;
}
function codeBlock(text) {
  const fence = "`".repeat(Math.max(3, longestRun(text, "`") + 1));
  return `${fence}text
${text}
${fence}`;
}
function longestRun(text, char) {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}
function formatDuration2(ms) {
  if (ms < 1e3)
    return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1e3);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor(seconds % 3600 / 60);
  const s = seconds % 60;
  if (h > 0)
    return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0)
    return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

// dist/github/pull-request.js
var MAX_BODY_CHARS = 65536;
async function openOrUpdatePullRequest(options) {
  const repo = toRepo(options.repo);
  if (options.head.trim() === "" || options.base.trim() === "" || options.title.trim() === "") {
    throw new MiyabiError("INVALID_ARGUMENT", "a pull request needs a head branch, a base branch and a title");
  }
  const client = options.client ?? await createGitHubClient(options);
  const octokit = client.octokit;
  const signal = withSignal(options.signal);
  const head = options.head.includes(":") ? options.head : `${repo.owner}:${options.head}`;
  const body = options.body.replaceAll("\0", "").slice(0, MAX_BODY_CHARS);
  const slug = repoSlug(repo);
  let result;
  try {
    const open5 = await octokit.request("GET /repos/{owner}/{repo}/pulls", {
      ...repo,
      head,
      state: "open",
      per_page: 1,
      ...signal
    });
    const existing = open5.data[0];
    if (existing) {
      const updated = await octokit.request("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", {
        ...repo,
        pull_number: existing.number,
        title: options.title,
        body,
        base: options.base,
        ...signal
      });
      result = { url: updated.data.html_url, number: updated.data.number, created: false };
    } else {
      const created = await octokit.request("POST /repos/{owner}/{repo}/pulls", {
        ...repo,
        head,
        base: options.base,
        title: options.title,
        body,
        draft: options.draft ?? false,
        ...signal
      });
      result = { url: created.data.html_url, number: created.data.number, created: true };
    }
  } catch (error) {
    throw client.toError(error, `open a pull request for ${options.head} in ${slug}`);
  }
  try {
    if (options.reviewers?.length) {
      await octokit.request("POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", {
        ...repo,
        pull_number: result.number,
        reviewers: [...options.reviewers],
        ...signal
      });
    }
    if (options.labels?.length) {
      await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", {
        ...repo,
        issue_number: result.number,
        labels: [...options.labels],
        ...signal
      });
    }
  } catch (error) {
    const mapped = client.toError(error, `pull request ${result.url}: request reviewers or add labels`);
    throw new MiyabiError(mapped.code, mapped.message, {
      hint: `The pull request exists (${result.url}); ${mapped.hint}`,
      details: { ...mapped.details, ...result }
    });
  }
  return result;
}

// dist/github/worktree-pull-request.js
async function openWorktreePullRequest(worktree, options) {
  const { client, signal } = options;
  const repo = typeof options.repo === "string" ? parseRepoSlug(options.repo) : options.repo;
  const issue = options.issue ?? await getIssue(client, repo, worktree.issueNumber, signal).then((found) => found ? issueContext(found) : void 0).catch(() => void 0);
  const summary = await branchSummary({
    cwd: worktree.path,
    base: worktree.baseBranch,
    head: worktree.branchName,
    ...signal ? { signal } : {}
  }).catch(() => void 0);
  return openOrUpdatePullRequest({
    client,
    repo,
    head: worktree.branchName,
    base: remoteBranchName(worktree.baseBranch),
    title: issue?.title || options.fallbackTitle || `Issue #${worktree.issueNumber}`,
    body: prBody({
      issueNumber: worktree.issueNumber,
      ...issue ? { issueUrl: issue.url, issueTitle: issue.title } : {},
      ...summary ?? {},
      ...options.durationMs !== void 0 ? { durationMs: options.durationMs } : {},
      ...options.lastLines !== void 0 ? { lastLines: options.lastLines } : {}
    }),
    ...options.draft !== void 0 ? { draft: options.draft } : {},
    ...options.reviewers ? { reviewers: options.reviewers } : {},
    ...options.labels ? { labels: options.labels } : {},
    ...signal ? { signal } : {}
  });
}
function remoteBranchName(base2) {
  return base2.replace(/^refs\/heads\//, "").replace(/^refs\/remotes\/[^/]+\//, "").replace(/^origin\//, "");
}

// dist/manager/types.js
var WORKTREE_STATUSES = ["active", "idle", "completed", "failed"];

// dist/manager/worktree-manager.js
import { basename as basename5 } from "node:path";

// dist/concurrency/slots.js
import PQueue from "p-queue";
var Slots = class {
  capacity;
  #queue;
  constructor(capacity) {
    this.capacity = capacity;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new MiyabiError("INVALID_ARGUMENT", `maxConcurrency must be a positive integer, got ${String(capacity)} (${typeof capacity})`, { hint: "Pass maxConcurrency: 1 or more." });
    }
    this.#queue = new PQueue({ concurrency: capacity });
  }
  /** Slots held right now. */
  get inUse() {
    return this.#queue.pending;
  }
  /** Acquirers waiting for a slot. */
  get waiting() {
    return this.#queue.size;
  }
  get available() {
    return Math.max(0, this.capacity - this.#queue.pending);
  }
  /** Waits for a free slot; rejects with `CANCELLED` (taking no slot) if `signal` aborts first. */
  acquire(signal) {
    if (signal?.aborted)
      return Promise.reject(cancelledWaiting(signal));
    return new Promise((resolve7, reject) => {
      this.#queue.add(() => new Promise((done) => {
        let released = false;
        resolve7(() => {
          if (released)
            return;
          released = true;
          done();
        });
      }), signal ? { signal } : {}).catch(() => reject(cancelledWaiting(signal)));
    });
  }
};
function cancelledWaiting(signal) {
  return new MiyabiError("CANCELLED", "aborted while waiting for a free worktree slot", {
    cause: signal?.reason,
    hint: "Nothing was created; raise maxConcurrency or finish other worktrees first."
  });
}

// dist/git/repository.js
import { realpath, stat } from "node:fs/promises";
import { join as join2, resolve } from "node:path";

// dist/manager/validate.js
function assertIssueNumber(value) {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new MiyabiError("INVALID_ARGUMENT", `issueNumber must be a positive integer, got ${describe(value)}`, { hint: "Pass the GitHub issue number, e.g. 42.", details: { issueNumber: String(value) } });
  }
}
function assertStatus(value) {
  if (!WORKTREE_STATUSES.includes(value)) {
    throw new MiyabiError("INVALID_ARGUMENT", `status must be one of ${WORKTREE_STATUSES.join(", ")}, got ${describe(value)}`);
  }
}
function assertPositiveInteger(value, option) {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new MiyabiError("INVALID_ARGUMENT", `${option} must be a positive integer, got ${describe(value)}`, {
      hint: `Pass ${option}: 1 or more.`
    });
  }
}
function assertWorktreeId(value) {
  if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value) || value.includes("..")) {
    throw new MiyabiError("INVALID_ARGUMENT", `worktree id ${describe(value)} is malformed`, {
      hint: "Ids look like issue-42-1a2b3c4d; listWorktrees() lists them."
    });
  }
}
function describe(value) {
  return `${show(value)} (${value === null ? "null" : typeof value})`;
}
function show(value) {
  switch (typeof value) {
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
    case "symbol":
    case "function":
      return String(value).split("\n")[0] ?? "";
    default:
      try {
        return JSON.stringify(value) ?? String(value);
      } catch {
        return String(value);
      }
  }
}

// dist/git/worktree-list.js
var ZERO_OID = /^0+$/;
function parseWorktreeList(output) {
  const entries = [];
  for (const record of output.split("\0\0")) {
    const lines = record.split("\0").filter((line) => line.length > 0);
    if (lines.length === 0)
      continue;
    let path;
    let head;
    let branch;
    let detached = false;
    let bare = false;
    let locked;
    let prunable;
    for (const line of lines) {
      const space = line.indexOf(" ");
      const key = space === -1 ? line : line.slice(0, space);
      const value = space === -1 ? "" : line.slice(space + 1);
      switch (key) {
        case "worktree":
          path = value;
          break;
        case "HEAD":
          head = ZERO_OID.test(value) ? void 0 : value;
          break;
        case "branch":
          branch = value;
          break;
        case "detached":
          detached = true;
          break;
        case "bare":
          bare = true;
          break;
        case "locked":
          locked = value;
          break;
        case "prunable":
          prunable = value;
          break;
        default:
          break;
      }
    }
    if (path === void 0)
      continue;
    entries.push({ path, head, branch, detached, bare, locked, prunable, isMain: entries.length === 0 });
  }
  return entries;
}
async function listGitWorktrees(cwd, signal) {
  const { stdout } = await runGit(["worktree", "list", "--porcelain", "-z"], { cwd, signal });
  return parseWorktreeList(stdout);
}
function shortBranchName(ref) {
  return ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : ref;
}

// dist/git/repository.js
async function discoverRepository(cwd) {
  const start = resolve(cwd);
  const info = await stat(start).catch(() => void 0);
  if (!info?.isDirectory()) {
    throw new MiyabiError("NOT_A_REPOSITORY", `${start} is not a directory`, {
      hint: "Pass an existing folder inside a git repository."
    });
  }
  let commonDirOut;
  let worktrees;
  try {
    [commonDirOut, worktrees] = await Promise.all([
      runGit(["rev-parse", "--path-format=absolute", "--git-common-dir"], { cwd: start }).then((r) => r.stdout),
      listGitWorktrees(start)
    ]);
  } catch (error) {
    if (/not a git repository/i.test(gitStderr(error))) {
      throw new MiyabiError("NOT_A_REPOSITORY", `${start} is not inside a git repository`, { cause: error });
    }
    throw error;
  }
  const main = worktrees[0];
  if (!main || main.bare) {
    throw new MiyabiError("BARE_REPOSITORY", `${start} belongs to a bare repository`, {
      hint: "Worktrees are managed from a repository with a working tree; clone it without --bare."
    });
  }
  const commonDir = await realpath(commonDirOut.trim());
  const root = await realpath(main.path);
  if (!main.head) {
    const { stdout } = await runGit(["for-each-ref", "--count=1", "--format=%(objectname)", "refs/heads/"], {
      cwd: root
    });
    if (!stdout.trim()) {
      throw new MiyabiError("NO_COMMITS", `${root} has no commit yet`, {
        hint: "Make a first commit (git commit --allow-empty -m init), then try again."
      });
    }
  }
  return { root, commonDir, stateDir: join2(commonDir, "miyabi"), worktrees };
}
async function resolveDefaultBase(repo, preferred) {
  if (preferred !== void 0)
    return resolveBaseBranch(repo.root, preferred);
  const { stdout } = await runGit([
    "for-each-ref",
    "--format=%(refname)%00%(symref)%00%(objectname)",
    "refs/remotes/origin/HEAD",
    "refs/heads/main",
    "refs/heads/master"
  ], { cwd: repo.root });
  const refs = /* @__PURE__ */ new Map();
  for (const line of stdout.split("\n")) {
    const [ref, symref = "", commit = ""] = line.split("\0");
    if (ref)
      refs.set(ref, { symref, commit });
  }
  const originHead = refs.get("refs/remotes/origin/HEAD")?.symref;
  if (originHead?.startsWith("refs/remotes/origin/")) {
    const name = originHead.slice("refs/remotes/origin/".length);
    const base2 = await resolveBaseBranch(repo.root, name).catch(() => void 0);
    if (base2)
      return base2;
  }
  for (const name of ["main", "master"]) {
    const found = refs.get(`refs/heads/${name}`);
    if (found)
      return { name, ref: `refs/heads/${name}`, commit: found.commit };
  }
  const main = repo.worktrees[0];
  if (main?.branch && main.head) {
    return { name: shortBranchName(main.branch), ref: main.branch, commit: main.head };
  }
  throw new MiyabiError("NOT_FOUND", "could not find a base branch (no origin/HEAD, main, master or current branch)", {
    hint: "Pass baseBranch explicitly."
  });
}
async function resolveBaseBranch(cwd, name) {
  await assertValidBranchName(name, "baseBranch", cwd);
  const candidates = [`refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/origin/${name}`];
  const { stdout } = await runGit(["for-each-ref", "--format=%(refname)%00%(objectname)", ...candidates], {
    cwd
  });
  const found = /* @__PURE__ */ new Map();
  for (const line of stdout.split("\n")) {
    const [ref, commit] = line.split("\0");
    if (ref && commit)
      found.set(ref, commit);
  }
  for (const ref of candidates) {
    const commit = found.get(ref);
    if (commit) {
      const short = ref.startsWith("refs/heads/") ? name : ref.replace(/^refs\/remotes\/(origin\/)?/, "");
      return { name: ref.startsWith("refs/remotes/origin/") ? short : name, ref, commit };
    }
  }
  throw new MiyabiError("NOT_FOUND", `base branch '${name}' does not exist`, {
    hint: "Use an existing local branch or a remote-tracking branch (e.g. origin/main); git branch -a lists them.",
    details: { baseBranch: name }
  });
}
async function assertValidBranchName(name, option, cwd) {
  const invalid2 = (why) => new MiyabiError("INVALID_ARGUMENT", `${option} ${typeof name === "string" ? JSON.stringify(name) : describe(name)} is not a valid branch name: it ${why}`, {
    hint: "Use a name like feature/issue-42 (see git help check-ref-format).",
    details: { [option]: name }
  });
  const problem = branchNameProblem(name);
  if (problem)
    throw invalid2(problem);
  if (GENERATED_BRANCH_CHARACTERS.test(name))
    return;
  try {
    await runGit(["check-ref-format", "--branch", name], { cwd });
  } catch {
    throw invalid2("is refused by git check-ref-format");
  }
}

// dist/git/work-snapshot.js
import { copyFile, mkdtemp as mkdtemp2, rm as rm2 } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join as join4 } from "node:path";

// dist/git/disk-full.js
import { statfs } from "node:fs/promises";
var FULL_BELOW_BYTES = 4 * 1024 * 1024;
async function explainDiskFull(error, path) {
  if (!(error instanceof MiyabiError) || !error.git)
    return error;
  const { stderr } = error.git;
  const saysSo = /No space left on device|ENOSPC/i.test(stderr);
  if (!saysSo && !/unable to write|write error|short write|failed to write|could not write/i.test(stderr))
    return error;
  const free = await statfs(path).then((stats) => stats.bavail * stats.bsize, () => void 0);
  if (!saysSo && (free === void 0 || free >= FULL_BELOW_BYTES))
    return error;
  const room = free === void 0 ? "" : ` (${formatBytes(free)} free on the disk holding ${path})`;
  const message = /No space left on device/i.test(error.message) ? `${error.message}${room}` : `${error.message}: No space left on device${room}`;
  return new MiyabiError(error.code, message, {
    cause: error,
    git: error.git,
    hint: `The disk holding ${path} is full: free some space there, then try again. What this call wrote was undone.`,
    ...error.details ? { details: error.details } : {}
  });
}
function formatBytes(bytes) {
  if (bytes < 1024)
    return `${bytes} B`;
  if (bytes < 1024 * 1024)
    return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

// dist/git/private-objects.js
import { mkdir as mkdir2, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { join as join3 } from "node:path";
async function privateObjects(objectsDir, besideDir) {
  await mkdir2(besideDir, { recursive: true });
  const dir = await mkdtemp(join3(besideDir, "objects-"));
  const discard = () => rm(dir, { recursive: true, force: true });
  return {
    env: { GIT_OBJECT_DIRECTORY: dir, GIT_ALTERNATE_OBJECT_DIRECTORIES: objectsDir },
    discard,
    async publish() {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (!entry.isDirectory())
          continue;
        if (/^[0-9a-f]{2}$/.test(entry.name))
          await moveLoose(join3(dir, entry.name), join3(objectsDir, entry.name));
        else if (entry.name === "pack")
          await movePacks(join3(dir, "pack"), join3(objectsDir, "pack"));
      }
      await discard();
    }
  };
}
async function moveLoose(from, to) {
  const names = (await readdir(from)).filter((name) => !name.startsWith("tmp_"));
  if (names.length === 0)
    return;
  await mkdir2(to, { recursive: true });
  for (const name of names)
    await rename(join3(from, name), join3(to, name));
}
async function movePacks(from, to) {
  const names = (await readdir(from)).filter((name) => name.startsWith("pack-"));
  if (names.length === 0)
    return;
  await mkdir2(to, { recursive: true });
  const order = (name) => name.endsWith(".idx") ? 1 : 0;
  for (const name of names.sort((a, b) => order(a) - order(b)))
    await rename(join3(from, name), join3(to, name));
}

// dist/git/work-snapshot.js
async function readWorktreeState(worktreePath, signal) {
  const { stdout } = await runGit(["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all", "--no-renames"], { cwd: worktreePath, signal });
  return parseStatusV2(stdout);
}
function parseStatusV2(output) {
  let head;
  let branch;
  const paths = [];
  const nestedRepositories = [];
  const fieldsBeforePath = { "1": 8, u: 10, "?": 1 };
  for (const record of output.split("\0")) {
    if (record.startsWith("# branch.oid ")) {
      const oid = record.slice("# branch.oid ".length);
      head = oid === "(initial)" ? void 0 : oid;
    } else if (record.startsWith("# branch.head ")) {
      const name = record.slice("# branch.head ".length);
      branch = name === "(detached)" ? void 0 : name;
    } else {
      const skip = fieldsBeforePath[record[0] ?? ""];
      if (skip === void 0)
        continue;
      const fields = record.split(" ");
      const path = fields.slice(skip).join(" ");
      paths.push(path);
      if (record[0] === "?" && path.endsWith("/"))
        nestedRepositories.push({ path, submodule: false });
      const sub = fields[2] ?? "";
      if (record[0] !== "?" && sub.startsWith("S") && sub !== "S...") {
        nestedRepositories.push({ path, submodule: true });
      }
    }
  }
  return { head, branch, uncommittedPaths: [...new Set(paths)].sort(), nestedRepositories };
}
async function uncommittedPaths(worktreePath, signal) {
  return (await readWorktreeState(worktreePath, signal)).uncommittedPaths;
}
async function snapshotWorktree(worktreePath, options = {}) {
  const state = options.state ?? await readWorktreeState(worktreePath, options.signal);
  const head = state.head ?? options.unbornParent;
  if (state.uncommittedPaths.length === 0 || !head)
    return null;
  const { stdout: paths } = await runGit(["rev-parse", "--path-format=absolute", "--git-path", "index", "--git-common-dir"], { cwd: worktreePath });
  const [indexPath = "", commonDir = ""] = paths.split("\n");
  const temp = await mkdtemp2(join4(tmpdir(), "miyabi-index-"));
  const tempIndex = join4(temp, "index");
  const objects = await privateObjects(join4(commonDir, "objects"), join4(commonDir, "miyabi", "tmp"));
  try {
    await copyFile(indexPath, tempIndex).catch(() => {
    });
    const env = { GIT_INDEX_FILE: tempIndex, ...objects.env };
    await runGit(["add", "-A", "--", "."], { cwd: worktreePath, env, signal: options.signal });
    const { stdout: tree } = await runGit(["write-tree"], { cwd: worktreePath, env });
    await objects.publish();
    return { tree: tree.trim(), head, uncommittedPaths: state.uncommittedPaths };
  } catch (error) {
    const explained = await explainDiskFull(error, worktreePath);
    await objects.discard();
    throw explained;
  } finally {
    await rm2(temp, { recursive: true, force: true });
  }
}
async function countUnmergedCommits(cwd, rev, baseRefs, options = {}) {
  const { stdout } = await runGit([
    "rev-list",
    "--count",
    "--ignore-missing",
    rev,
    "--not",
    ...baseRefs,
    "--remotes",
    ...options.otherBranches ? ["--branches"] : [],
    "--"
  ], { cwd, signal: options.signal });
  return Number.parseInt(stdout.trim(), 10) || 0;
}
var METADATA_TRAILER = "Miyabi-Archive: ";
async function writeArchive(cwd, tree, metadata) {
  const ref = `refs/miyabi/archive/${metadata.id}`;
  const message = `miyabi-worktree archive of ${metadata.id} (${metadata.branchName})

${METADATA_TRAILER}${JSON.stringify(metadata)}
`;
  const previous = await runGit(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
    cwd,
    okExitCodes: [0, 1]
  });
  const older = previous.exitCode === 0 ? previous.stdout.trim() : void 0;
  const parents = ["-p", metadata.head, ...older ? ["-p", older] : []];
  const { stdout } = await runGitAsUser(["commit-tree", tree, ...parents, "-F", "-"], {
    cwd,
    input: message
  });
  const commit = stdout.trim();
  await runGit(["update-ref", "-m", `miyabi-worktree: archive ${metadata.id}`, ref, commit, older ?? ""], {
    cwd
  });
  return { ref, commit };
}
async function readArchive(cwd, id) {
  const ref = `refs/miyabi/archive/${id}`;
  const found = await runGit(["log", "-1", "--format=%H%x00%T%x00%B", ref, "--"], {
    cwd,
    okExitCodes: [0, 128]
  });
  if (found.exitCode !== 0)
    return null;
  const [commit = "", tree = "", body = ""] = found.stdout.split("\0");
  const line = body.split("\n").find((l) => l.startsWith(METADATA_TRAILER));
  if (!line)
    return null;
  return { ref, commit, tree, metadata: JSON.parse(line.slice(METADATA_TRAILER.length)) };
}
var fallbackIdentity;
var NO_IDENTITY = /Please tell me who you are|unable to auto-detect email address|empty ident name/i;
async function runGitAsUser(args, options) {
  try {
    return await runGit(args, options);
  } catch (error) {
    if (!NO_IDENTITY.test(gitStderr(error)))
      throw error;
    return runGit(args, { ...options, env: { ...options.env, ...await identityEnv(options.cwd) } });
  }
}
async function identityEnv(cwd) {
  const configured = await runGit(["var", "GIT_COMMITTER_IDENT"], { cwd, okExitCodes: [0, 128] });
  if (configured.exitCode === 0)
    return void 0;
  fallbackIdentity ??= {
    GIT_AUTHOR_NAME: "miyabi-worktree",
    GIT_AUTHOR_EMAIL: "miyabi-worktree@localhost",
    GIT_COMMITTER_NAME: "miyabi-worktree",
    GIT_COMMITTER_EMAIL: "miyabi-worktree@localhost"
  };
  return fallbackIdentity;
}

// dist/state/registry.js
import { readFile as readFile2, rename as rename2 } from "node:fs/promises";
import { join as join5 } from "node:path";

// dist/state/lazy-modules.js
var properLockfile;
var writeFileAtomic;
function loadProperLockfile() {
  properLockfile ??= import("proper-lockfile").then((module) => module.default);
  return properLockfile;
}
function loadWriteFileAtomic() {
  writeFileAtomic ??= import("write-file-atomic").then((module) => module.default);
  return writeFileAtomic;
}

// dist/state/state-errors.js
var WHY = {
  EISDIR: "it is a folder where a file belongs",
  ENOTDIR: "a part of its path is a file where a folder belongs",
  EEXIST: "it is a file where a folder belongs",
  EACCES: "permission denied",
  EPERM: "operation not permitted (an immutable or protected folder)",
  EROFS: "the file system is read-only",
  ELOOP: "a symbolic link loop is in the way"
};
function isStateUnavailable(error) {
  const code = error?.code;
  return typeof code === "string" && code in WHY;
}
function stateUnavailable(error, path, stateDir) {
  if (!isStateUnavailable(error))
    return error;
  const code = error.code;
  return new MiyabiError("STATE_UNAVAILABLE", `cannot use ${path}: ${WHY[code]} (${code})`, {
    cause: error,
    hint: `miyabi-worktree keeps its state in ${stateDir}: make it a folder this user can write (move aside whatever is in the way), then try again.`,
    details: { path, stateDir, errno: code }
  });
}
async function withStateErrors(path, stateDir, fn) {
  try {
    return await fn();
  } catch (error) {
    throw stateUnavailable(error, path, stateDir);
  }
}

// dist/state/registry.js
var Registry = class {
  logger;
  onWarning;
  file;
  #stateDir;
  /** Without `onWarning`, warnings go to `logger` only. */
  constructor(stateDir, logger, onWarning) {
    this.logger = logger;
    this.onWarning = onWarning;
    this.#stateDir = stateDir;
    this.file = join5(stateDir, "registry.json");
  }
  /** All records, oldest first. */
  read() {
    return withStateErrors(this.file, this.#stateDir, () => this.#read(true));
  }
  async #read(firstAttempt) {
    let text;
    try {
      text = await readFile2(this.file, "utf8");
    } catch (error) {
      if (error.code === "ENOENT")
        return [];
      throw error;
    }
    let records;
    try {
      records = parseRegistry(text);
    } catch (error) {
      return this.#setAside(error, firstAttempt);
    }
    return records;
  }
  /**
   * Writes are atomic, so unparseable text is a hand edit, a disk fault or a foreign file: it is
   * kept aside rather than lost or overwritten, and the caller is told, since even a read moved it.
   */
  async #setAside(parseError, firstAttempt) {
    const aside = `${this.file}.corrupt-${Date.now()}-${process.pid}`;
    try {
      await rename2(this.file, aside);
    } catch (error) {
      if (error.code === "ENOENT" && firstAttempt)
        return this.#read(false);
      throw error;
    }
    const warning = {
      code: "REGISTRY_UNREADABLE",
      message: `the worktree registry ${this.file} was unreadable (${reason(parseError)}) and was moved to ${aside}; the worktrees it recorded are not listed until cleanup adopts the ones it finds in the worktree folder`,
      path: this.file,
      movedTo: aside
    };
    if (this.onWarning)
      this.onWarning(warning);
    else
      safeLog(this.logger, "warn", { ...warning }, warning.message);
    return [];
  }
  /** Read-modify-write; the caller must hold the repository lock. Returns the records written. */
  async mutate(change) {
    const next = change(await this.read()).sort(byCreation);
    const body = { version: 1, worktrees: next };
    const writeFileAtomic2 = await loadWriteFileAtomic();
    await withStateErrors(this.file, this.#stateDir, () => (
      // 0644 whatever the umask (write-file-atomic sets it explicitly): it holds no secrets.
      writeFileAtomic2(this.file, `${JSON.stringify(body, null, 2)}
`, { fsync: false, mode: 420 })
    ));
    return next;
  }
};
function parseRegistry(text) {
  const parsed = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || parsed.version !== 1 || !Array.isArray(parsed.worktrees))
    throw new Error("unknown registry format");
  return parsed.worktrees.filter(isRecord2).sort(byCreation);
}
function reason(error) {
  return error instanceof Error ? error.message : String(error);
}
function byCreation(a, b) {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
function isRecord2(value) {
  if (typeof value !== "object" || value === null)
    return false;
  const record = value;
  return typeof record.id === "string" && typeof record.path === "string" && typeof record.branchName === "string" && typeof record.issueNumber === "number" && WORKTREE_STATUSES.includes(record.status);
}

// dist/state/repo-lock.js
import { mkdir as mkdir3 } from "node:fs/promises";
import { join as join6 } from "node:path";
import PQueue2 from "p-queue";
var localQueues = /* @__PURE__ */ new Map();
var RepoLock = class {
  lockPath;
  #dir;
  #waitMs;
  #staleMs;
  #logger;
  constructor(stateDir, options = {}) {
    this.#dir = stateDir;
    this.lockPath = join6(stateDir, "repo.lock");
    this.#waitMs = options.waitMs ?? 6e4;
    this.#staleMs = options.staleMs ?? 1e4;
    this.#logger = options.logger ?? silentLogger;
  }
  /** How many runs in this process wait for this lock behind the one holding it (observable state for tests and diagnostics). */
  get waiting() {
    return localQueues.get(this.lockPath)?.size ?? 0;
  }
  /** Runs `fn` exclusively against every other holder of this repository's lock, in any process. */
  run = (fn) => {
    let queue = localQueues.get(this.lockPath);
    if (!queue) {
      queue = new PQueue2({ concurrency: 1 });
      localQueues.set(this.lockPath, queue);
    }
    return queue.add(() => this.#crossProcess(fn));
  };
  async #crossProcess(fn) {
    await withStateErrors(this.#dir, this.#dir, () => mkdir3(this.#dir, { recursive: true }));
    const lockfile = await loadProperLockfile();
    const started = Date.now();
    let release;
    while (!release) {
      try {
        release = await lockfile.lock(join6(this.#dir, "repo"), {
          lockfilePath: this.lockPath,
          realpath: false,
          stale: this.#staleMs,
          retries: { retries: 20, minTimeout: 5, maxTimeout: 100, factor: 1.5 },
          onCompromised: (error) => safeLog(this.#logger, "warn", { err: error.message, lock: this.lockPath }, "repository lock compromised")
        });
      } catch (error) {
        if (error.code !== "ELOCKED")
          throw stateUnavailable(error, this.lockPath, this.#dir);
        if (Date.now() - started > this.#waitMs) {
          throw new MiyabiError("LOCKED", `repository lock ${this.lockPath} is held by another process`, {
            cause: error,
            hint: `Another miyabi-worktree process is working on this repository. If none is, the lock goes stale after ${Math.round(this.#staleMs / 1e3)} s.`
          });
        }
      }
    }
    try {
      return await fn();
    } finally {
      await release().catch((error) => safeLog(this.#logger, "warn", { err: String(error), lock: this.lockPath }, "could not release lock"));
    }
  }
};

// dist/telemetry/events.js
var WORKTREE_EVENT_TYPES = [
  "slot-wait",
  "create-start",
  "create-complete",
  "setup-start",
  "setup-complete",
  "execute-start",
  "execute-complete",
  "merge-start",
  "merge-complete",
  "push-start",
  "push-complete",
  "cleanup-start",
  "cleanup-complete",
  "task-complete",
  "error"
];
var TASK_STAGES = [
  "create",
  "setup",
  "execute",
  "merge",
  "push",
  "pr",
  "cleanup"
];
var EXECUTION_OUTCOMES = ["success", "failed", "timeout", "cancelled"];

// dist/telemetry/event-emitter.js
var TelemetryEmitter = class {
  #subscriptions = [];
  #logger;
  constructor(logger = silentLogger) {
    this.#logger = logger;
  }
  /** How many listeners are subscribed. */
  get listenerCount() {
    return this.#subscriptions.length;
  }
  /** Calls `listener` for every event of `name` (`'event'`: all) until {@link off}. */
  on(name, listener) {
    this.#subscribe(name, listener, false);
    return this;
  }
  /** Calls `listener` for the next event of `name` only. */
  once(name, listener) {
    this.#subscribe(name, listener, true);
    return this;
  }
  /** Removes one subscription of `listener` to `name` (also one made with `once`); unknown ones are ignored. */
  off(name, listener) {
    assertEventName(name);
    const index = this.#subscriptions.findLastIndex((s) => s.name === name && s.listener === listener);
    if (index >= 0)
      this.#subscriptions = this.#subscriptions.toSpliced(index, 1);
    return this;
  }
  /** Delivers `event` to the listeners of `'event'` and of its type, in subscription order; never throws. */
  emit(event) {
    const current = this.#subscriptions.filter((s) => s.name === "event" || s.name === event.type);
    if (current.some((s) => s.once)) {
      const fired = new Set(current.filter((s) => s.once));
      this.#subscriptions = this.#subscriptions.filter((s) => !fired.has(s));
    }
    for (const { listener } of current) {
      try {
        const result = listener(event);
        if (isThenable(result))
          result.then(void 0, (error) => this.#warn(event, error));
      } catch (error) {
        this.#warn(event, error);
      }
    }
  }
  #subscribe(name, listener, once) {
    assertEventName(name);
    if (typeof listener !== "function") {
      throw new MiyabiError("INVALID_ARGUMENT", `listener must be a function, got ${typeof listener}`);
    }
    this.#subscriptions = [...this.#subscriptions, { name, listener, once }];
  }
  #warn(event, error) {
    safeLog(this.#logger, "warn", {
      event: event.type,
      worktreeId: event.worktreeId,
      err: error instanceof Error ? error.message : String(error)
    }, "telemetry listener threw; ignored");
  }
};
function assertEventName(name) {
  if (name !== "event" && !WORKTREE_EVENT_TYPES.includes(name)) {
    throw new MiyabiError("INVALID_ARGUMENT", `unknown event name ${JSON.stringify(name)}`, {
      hint: `Subscribe to 'event' (every event) or one of: ${WORKTREE_EVENT_TYPES.join(", ")}.`
    });
  }
}
function isThenable(value) {
  return typeof value === "object" && value !== null && typeof value.then === "function";
}

// dist/telemetry/journal.js
import { mkdir as mkdir4, open as open2, stat as stat3 } from "node:fs/promises";
import { join as join10 } from "node:path";

// dist/telemetry/journal-codec.js
var MAX_MESSAGE_CHARS = 2e3;
var RECORD_START = '{"type":"';
function serializeEvent(event) {
  const record = event.type === "error" && typeof event.message === "string" && event.message.length > MAX_MESSAGE_CHARS ? { ...event, message: `${event.message.slice(0, MAX_MESSAGE_CHARS)}\u2026` } : event;
  const { type, ...rest } = record;
  return `${JSON.stringify({ type, ...rest })}
`;
}
var SEAL_START = '{"seal":';
function serializeSeal(pid = process.pid) {
  return `
${JSON.stringify({ seal: (/* @__PURE__ */ new Date()).toISOString(), pid })}
`;
}
function sealOffset(text) {
  if (text.startsWith(SEAL_START))
    return 0;
  const at = text.indexOf(`
${SEAL_START}`);
  return at < 0 ? -1 : at + 1;
}
function parseJournal(text) {
  const events = [];
  let skipped = 0;
  let firstSkippedLine;
  const seal = sealOffset(text);
  const lines = (seal < 0 ? text : text.slice(0, seal)).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? "";
    if (line === "")
      continue;
    const direct = parseRecord(line);
    if (direct) {
      events.push(direct);
      continue;
    }
    let bad = 0;
    for (const piece of splitRecords(line)) {
      const event = parseRecord(piece);
      if (event)
        events.push(event);
      else
        bad++;
    }
    if (bad > 0) {
      skipped += bad;
      firstSkippedLine ??= i + 1;
    }
  }
  return { events, skipped, ...firstSkippedLine !== void 0 ? { firstSkippedLine } : {} };
}
function toWorktreeEvent(value) {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return void 0;
  const record = value;
  if (!WORKTREE_EVENT_TYPES.includes(record.type))
    return void 0;
  if (typeof record.worktreeId !== "string" || typeof record.timestamp !== "string")
    return void 0;
  return value;
}
function parseRecord(text) {
  try {
    return toWorktreeEvent(JSON.parse(text));
  } catch {
    return void 0;
  }
}
function splitRecords(line) {
  const pieces = [];
  let start = 0;
  for (let at = line.indexOf(RECORD_START, 1); at > 0; at = line.indexOf(RECORD_START, at + 1)) {
    pieces.push(line.slice(start, at));
    start = at;
  }
  pieces.push(line.slice(start));
  return pieces;
}

// dist/telemetry/journal-compaction.js
import { open, rename as rename3, stat as stat2, unlink } from "node:fs/promises";
import { join as join8 } from "node:path";

// dist/telemetry/journal-files.js
import { readdir as readdir2, readFile as readFile3 } from "node:fs/promises";
import { join as join7 } from "node:path";
var ACTIVE_FILE = "telemetry.jsonl";
var SUMMARY_FILE = "telemetry-summary.json";
var SEGMENT = /^telemetry\.(\d+)\.jsonl$/;
function segmentFile(n) {
  return `telemetry.${n}.jsonl`;
}
async function listSegments(dir) {
  let names;
  try {
    names = await readdir2(dir);
  } catch (error) {
    if (isMissing(error))
      return [];
    throw error;
  }
  const numbers = [];
  for (const name of names) {
    const match = SEGMENT.exec(name);
    if (match?.[1] !== void 0)
      numbers.push(Number(match[1]));
  }
  return numbers.sort((a, b) => a - b);
}
async function readTextIfExists(dir, name) {
  try {
    return await readFile3(join7(dir, name), "utf8");
  } catch (error) {
    if (isMissing(error))
      return void 0;
    throw error;
  }
}
function isMissing(error) {
  const code = error?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
async function readWhole(handle) {
  const { size } = await handle.stat();
  const buffer = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(buffer, done, size - done, done);
    if (bytesRead === 0)
      break;
    done += bytesRead;
  }
  return buffer.subarray(0, done).toString("utf8");
}

// dist/telemetry/stats.js
var COUNT_KEYS = [
  "creates",
  "executions",
  "successfulExecutions",
  "failedExecutions",
  "followUpFailures",
  "mergeConflicts",
  "conflictsResolved",
  "pullRequests",
  "cleanups",
  "errors",
  "totalExecutionMs"
];
function emptyCounts() {
  return {
    creates: 0,
    executions: 0,
    successfulExecutions: 0,
    failedExecutions: 0,
    followUpFailures: 0,
    mergeConflicts: 0,
    conflictsResolved: 0,
    pullRequests: 0,
    cleanups: 0,
    errors: 0,
    totalExecutionMs: 0
  };
}
function addEvent(counts, event) {
  switch (event.type) {
    case "create-complete":
      counts.creates++;
      break;
    case "execute-complete":
      counts.executions++;
      if (event.success === true)
        counts.successfulExecutions++;
      else
        counts.failedExecutions++;
      counts.totalExecutionMs += validDuration(event.durationMs);
      break;
    case "cleanup-complete":
      counts.cleanups++;
      break;
    case "task-complete":
      if (event.status !== "success" && isFollowUp(event.stage))
        counts.followUpFailures++;
      if (event.conflict !== void 0 || event.code === "MERGE_CONFLICT")
        counts.mergeConflicts++;
      if (event.conflict === "resolved")
        counts.conflictsResolved++;
      if (event.pullRequest !== void 0)
        counts.pullRequests++;
      break;
    case "error":
      counts.errors++;
      break;
    default:
      break;
  }
  return counts;
}
function foldEvents(events) {
  const counts = emptyCounts();
  for (const event of events)
    addEvent(counts, event);
  return counts;
}
function mergeCounts(...parts) {
  const total = emptyCounts();
  for (const part of parts)
    for (const key of COUNT_KEYS)
      total[key] += part[key];
  return total;
}
var LATER_KEYS = /* @__PURE__ */ new Set([
  "followUpFailures",
  "mergeConflicts",
  "conflictsResolved",
  "pullRequests"
]);
function isFollowUp(stage) {
  return stage === "merge" || stage === "push" || stage === "pr" || stage === "cleanup";
}
function parseCounts(value) {
  if (typeof value !== "object" || value === null)
    return void 0;
  const counts = emptyCounts();
  for (const key of COUNT_KEYS) {
    if (LATER_KEYS.has(key) && !(key in value))
      continue;
    const n = value[key];
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0)
      return void 0;
    counts[key] = n;
  }
  return counts;
}
function toTelemetryStats(counts) {
  const { executions } = counts;
  const demoted = Math.min(counts.followUpFailures, counts.successfulExecutions);
  const successfulExecutions = counts.successfulExecutions - demoted;
  return {
    creates: counts.creates,
    executions,
    successfulExecutions,
    failedExecutions: counts.failedExecutions + demoted,
    followUpFailures: counts.followUpFailures,
    mergeConflicts: counts.mergeConflicts,
    conflictsResolved: counts.conflictsResolved,
    pullRequests: counts.pullRequests,
    cleanups: counts.cleanups,
    errors: counts.errors,
    totalExecutionMs: counts.totalExecutionMs,
    averageExecutionMs: executions > 0 ? counts.totalExecutionMs / executions : 0,
    successRate: executions > 0 ? successfulExecutions / executions * 100 : 0
  };
}
function normalizeScope(scope) {
  if (scope === void 0 || scope === null)
    return void 0;
  if (typeof scope !== "object") {
    throw new MiyabiError("INVALID_ARGUMENT", `scope must be an object like { since, batchId }, got ${typeof scope}`);
  }
  const { since, batchId } = scope;
  if (batchId !== void 0 && (typeof batchId !== "string" || batchId === "")) {
    throw new MiyabiError("INVALID_ARGUMENT", `batchId must be a non-empty string, got ${JSON.stringify(batchId)}`);
  }
  let sinceMs;
  if (since !== void 0) {
    sinceMs = since instanceof Date ? since.getTime() : typeof since === "string" ? Date.parse(since) : Number.NaN;
    if (Number.isNaN(sinceMs)) {
      throw new MiyabiError("INVALID_ARGUMENT", `since must be a Date or an ISO 8601 string, got ${String(since)}`, {
        hint: "Pass e.g. new Date(Date.now() - 86_400_000) or '2025-01-31T00:00:00Z'."
      });
    }
  }
  if (sinceMs === void 0 && batchId === void 0)
    return void 0;
  return { ...sinceMs !== void 0 ? { sinceMs } : {}, ...batchId !== void 0 ? { batchId } : {} };
}
function inScope(event, scope) {
  if (scope.batchId !== void 0 && event.batchId !== scope.batchId)
    return false;
  if (scope.sinceMs !== void 0) {
    const at = Date.parse(event.timestamp);
    if (Number.isNaN(at) || at < scope.sinceMs)
      return false;
  }
  return true;
}
function validDuration(value) {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

// dist/telemetry/journal-summary.js
var MAX_SUMMARY_BATCHES = 100;
var EMPTY_SUMMARY = Object.freeze({
  version: 1,
  generation: 0,
  foldedThrough: 0,
  counts: Object.freeze(emptyCounts()),
  batches: Object.freeze({})
});
function parseSummary(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return void 0;
  }
  if (typeof value !== "object" || value === null)
    return void 0;
  const raw = value;
  const counts = parseCounts(raw.counts);
  if (raw.version !== 1 || !counts || !isCount(raw.generation) || !isCount(raw.foldedThrough)) {
    return void 0;
  }
  const batches = {};
  if (typeof raw.batches === "object" && raw.batches !== null) {
    for (const [id, entry] of Object.entries(raw.batches)) {
      const batch = entry;
      const batchCounts = parseCounts(batch?.counts);
      if (batchCounts && typeof batch?.lastAt === "string")
        batches[id] = { counts: batchCounts, lastAt: batch.lastAt };
    }
  }
  return {
    version: 1,
    generation: raw.generation,
    foldedThrough: raw.foldedThrough,
    counts,
    batches,
    ...typeof raw.compactedThrough === "string" ? { compactedThrough: raw.compactedThrough } : {},
    ...typeof raw.updatedAt === "string" ? { updatedAt: raw.updatedAt } : {}
  };
}
function foldIntoSummary(summary, events, foldedThrough) {
  const counts = { ...summary.counts };
  const batches = new Map(Object.entries(summary.batches).map(([id, b]) => [id, { ...b, counts: { ...b.counts } }]));
  let compactedThrough = summary.compactedThrough;
  for (const event of events) {
    addEvent(counts, event);
    if (compactedThrough === void 0 || event.timestamp > compactedThrough) {
      compactedThrough = event.timestamp;
    }
    if (event.batchId === void 0)
      continue;
    const batch = batches.get(event.batchId) ?? { counts: emptyCounts(), lastAt: event.timestamp };
    addEvent(batch.counts, event);
    if (event.timestamp > batch.lastAt)
      batch.lastAt = event.timestamp;
    batches.set(event.batchId, batch);
  }
  const kept = [...batches].sort(([, a], [, b]) => a.lastAt < b.lastAt ? 1 : -1).slice(0, MAX_SUMMARY_BATCHES);
  return {
    version: 1,
    generation: summary.generation + 1,
    foldedThrough: Math.max(summary.foldedThrough, foldedThrough),
    counts,
    batches: Object.fromEntries(kept),
    ...compactedThrough !== void 0 ? { compactedThrough } : {},
    updatedAt: (/* @__PURE__ */ new Date()).toISOString()
  };
}
function isCount(value) {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

// dist/telemetry/journal-compaction.js
async function compactJournal(dir, options) {
  const size = await fileSize(join8(dir, ACTIVE_FILE));
  if (size === 0 || !options.force && size < options.maxBytes)
    return false;
  let summary = await summaryForRewrite(dir, options.logger);
  const segments = await listSegments(dir);
  const obsolete = segments.filter((n) => n <= summary.foldedThrough);
  const toFold = segments.filter((n) => n > summary.foldedThrough);
  if (toFold.length > 0) {
    const events = [];
    for (const n of toFold) {
      const parsed = parseJournal(await sealAndRead(join8(dir, segmentFile(n))));
      if (parsed.skipped > 0) {
        safeLog(options.logger, "warn", {
          file: join8(dir, segmentFile(n)),
          skippedLines: parsed.skipped,
          firstSkippedLine: parsed.firstSkippedLine
        }, "telemetry journal: skipped unreadable lines while compacting");
      }
      events.push(...parsed.events);
    }
    summary = foldIntoSummary(summary, events, Math.max(...toFold));
    const writeFileAtomic2 = await loadWriteFileAtomic();
    await writeFileAtomic2(join8(dir, SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}
`, { mode: 420 });
  }
  for (const n of [...obsolete, ...toFold])
    await unlinkIfExists(join8(dir, segmentFile(n)));
  const next = Math.max(summary.foldedThrough, ...segments) + 1;
  await rename3(join8(dir, ACTIVE_FILE), join8(dir, segmentFile(next)));
  return true;
}
async function summaryForRewrite(dir, logger) {
  const text = await readTextIfExists(dir, SUMMARY_FILE);
  if (text === void 0)
    return EMPTY_SUMMARY;
  const summary = parseSummary(text);
  if (summary)
    return summary;
  const aside = join8(dir, `${SUMMARY_FILE}.corrupt-${Date.now()}`);
  await rename3(join8(dir, SUMMARY_FILE), aside);
  safeLog(logger, "warn", { file: join8(dir, SUMMARY_FILE), movedTo: aside }, "telemetry summary unreadable; moved aside");
  return EMPTY_SUMMARY;
}
async function sealAndRead(file) {
  let handle;
  try {
    handle = await open(file, "a+", 420);
  } catch (error) {
    if (isMissing(error))
      return "";
    throw error;
  }
  try {
    const seal = Buffer.from(serializeSeal(), "utf8");
    await handle.write(seal, 0, seal.length);
    return await readWhole(handle);
  } finally {
    await handle.close();
  }
}
async function fileSize(file) {
  try {
    return (await stat2(file)).size;
  } catch (error) {
    if (isMissing(error))
      return 0;
    throw error;
  }
}
async function unlinkIfExists(file) {
  try {
    await unlink(file);
  } catch (error) {
    if (!isMissing(error))
      throw error;
  }
}

// dist/telemetry/journal-lock.js
import { join as join9 } from "node:path";
var JOURNAL_LOCK_STALE_MS = 1e4;
async function withJournalLock(dir, wait, logger, fn) {
  const lockfilePath = join9(dir, "telemetry.lock");
  const lockfile = await loadProperLockfile();
  let release;
  try {
    release = await lockfile.lock(join9(dir, "telemetry"), {
      lockfilePath,
      realpath: false,
      stale: JOURNAL_LOCK_STALE_MS,
      retries: wait === "wait" ? { retries: 60, minTimeout: 10, maxTimeout: 500, factor: 1.5, randomize: true } : 0,
      // The default throws from a timer and would crash the host process.
      onCompromised: (error) => safeLog(logger, "warn", { lock: lockfilePath, err: error.message }, "telemetry lock compromised")
    });
  } catch (error) {
    if (error.code === "ELOCKED")
      return { acquired: false };
    throw error;
  }
  try {
    return { acquired: true, value: await fn() };
  } finally {
    await release().catch((error) => safeLog(logger, "warn", { lock: lockfilePath, err: String(error) }, "could not release telemetry lock"));
  }
}

// dist/telemetry/journal.js
var DEFAULT_MAX_JOURNAL_BYTES = 1024 * 1024;
var MAX_APPEND_ATTEMPTS = 3;
var COMPACTION_RETRY_MS = 6e4;
var OPTIMISTIC_READS = 4;
var EventJournal = class {
  /** The journal folder. */
  dir;
  /** The active JSON-lines file. */
  file;
  /** Size that triggers compaction. */
  maxBytes;
  #logger;
  #writable = true;
  #dirReady = false;
  #compacting;
  #compactionRetryAt = 0;
  #warned = /* @__PURE__ */ new Set();
  constructor(dir, options = {}) {
    if (typeof dir !== "string" || dir === "") {
      throw new MiyabiError("INVALID_ARGUMENT", `journal dir must be a non-empty path, got ${JSON.stringify(dir)}`);
    }
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_JOURNAL_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024) {
      throw new MiyabiError("INVALID_ARGUMENT", `maxBytes must be an integer >= 1024, got ${String(maxBytes)} (${typeof maxBytes})`);
    }
    this.dir = dir;
    this.file = join10(dir, ACTIVE_FILE);
    this.maxBytes = maxBytes;
    this.#logger = options.logger ?? silentLogger;
  }
  /** False once a write failed: later events are the caller's to keep in memory. */
  get writable() {
    return this.#writable;
  }
  /**
   * Appends one event as one line. Resolves `true` when it is on disk, `false` when the journal is
   * (or just became) unwritable. Never rejects. May compact afterwards.
   */
  async append(event) {
    if (!this.#writable)
      return false;
    let size;
    try {
      size = await this.#write(Buffer.from(serializeEvent(event), "utf8"));
    } catch (error) {
      this.#writable = false;
      safeLog(this.#logger, "warn", { dir: this.dir, err: error instanceof Error ? error.message : String(error) }, "telemetry journal not writable; keeping events in memory for this process");
      return false;
    }
    if (size >= this.maxBytes && Date.now() >= this.#compactionRetryAt)
      await this.compact();
    return true;
  }
  /**
   * Compacts now if the active file reached `maxBytes` (or, with `force`, if it holds anything),
   * unless another process is already compacting. Never rejects; resolves whether it rotated.
   */
  compact(options = {}) {
    if (!this.#writable)
      return Promise.resolve(false);
    this.#compacting ??= this.#compactOnce(options.force ?? false).finally(() => {
      this.#compacting = void 0;
    });
    return this.#compacting;
  }
  /** Everything the journal holds, from every process. Never rejects (an unreadable folder reads as empty). */
  async snapshot() {
    try {
      let read = await this.#readOnce();
      for (let attempt = 1; !read.consistent && attempt < OPTIMISTIC_READS; attempt++) {
        read = await this.#readOnce();
      }
      if (!read.consistent) {
        const locked = await withJournalLock(this.dir, "wait", this.#logger, () => this.#readOnce()).catch(() => void 0);
        if (locked?.acquired)
          read = locked.value;
      }
      return this.#decode(read);
    } catch (error) {
      this.#warnOnce(`read:${String(error)}`, { dir: this.dir, err: String(error) }, "telemetry journal unreadable");
      return { summary: EMPTY_SUMMARY, events: [] };
    }
  }
  /** Appends `line` so that it is counted exactly once; resolves the active file's size. */
  async #write(line) {
    if (!this.#dirReady) {
      await mkdir4(this.dir, { recursive: true });
      this.#dirReady = true;
    }
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#appendOnce(line);
      if (outcome.landed || attempt >= MAX_APPEND_ATTEMPTS) {
        if (!outcome.landed) {
          safeLog(this.#logger, "warn", { dir: this.dir }, "telemetry event may be missing: journal rotated repeatedly");
        }
        return outcome.size;
      }
    }
  }
  async #appendOnce(line) {
    let handle;
    try {
      handle = await open2(this.file, "a+", 420);
    } catch (error) {
      if (!isMissing(error))
        throw error;
      await mkdir4(this.dir, { recursive: true });
      handle = await open2(this.file, "a+", 420);
    }
    try {
      const { bytesWritten } = await handle.write(line, 0, line.length);
      if (bytesWritten !== line.length) {
        throw new Error(`short write: ${bytesWritten} of ${line.length} bytes`);
      }
      const written = await handle.stat();
      const active = await stat3(this.file).catch(() => void 0);
      if (active && active.ino === written.ino && active.dev === written.dev) {
        return { landed: true, size: written.size };
      }
      const text = await readWhole(handle);
      const seal = sealOffset(text);
      const at = text.indexOf(line.toString("utf8"));
      return { landed: seal < 0 || at >= 0 && at < seal, size: 0 };
    } finally {
      await handle.close();
    }
  }
  async #compactOnce(force) {
    try {
      const result = await withJournalLock(this.dir, "try", this.#logger, () => compactJournal(this.dir, { maxBytes: this.maxBytes, force, logger: this.#logger }));
      return result.acquired && result.value;
    } catch (error) {
      this.#compactionRetryAt = Date.now() + COMPACTION_RETRY_MS;
      safeLog(this.#logger, "warn", { dir: this.dir, err: String(error), retryInMs: COMPACTION_RETRY_MS }, "telemetry journal compaction failed; the journal grows until it succeeds");
      return false;
    }
  }
  /**
   * Reads summary, segments and active file, then checks that neither the summary nor the set of
   * segments changed meanwhile (a compaction would make the pieces overlap or miss each other).
   */
  async #readOnce() {
    const summaryText = await readTextIfExists(this.dir, SUMMARY_FILE);
    const foldedThrough = (summaryText === void 0 ? void 0 : parseSummary(summaryText))?.foldedThrough ?? 0;
    const segments = await listSegments(this.dir);
    const files = [];
    for (const n of segments) {
      if (n <= foldedThrough)
        continue;
      const text = await readTextIfExists(this.dir, segmentFile(n));
      if (text === void 0)
        return { consistent: false, summaryText, files };
      files.push({ name: segmentFile(n), text });
    }
    files.push({ name: ACTIVE_FILE, text: await readTextIfExists(this.dir, ACTIVE_FILE) ?? "" });
    const segmentsAfter = await listSegments(this.dir);
    const summaryAfter = await readTextIfExists(this.dir, SUMMARY_FILE);
    const consistent = summaryAfter === summaryText && sameNumbers(segments, segmentsAfter);
    return { consistent, summaryText, files };
  }
  #decode(read) {
    let summary = EMPTY_SUMMARY;
    if (read.summaryText !== void 0) {
      const parsed = parseSummary(read.summaryText);
      if (parsed)
        summary = parsed;
      else {
        this.#warnOnce(`summary:${read.summaryText.length}`, { file: join10(this.dir, SUMMARY_FILE) }, "telemetry summary unreadable; counting only the raw journal");
      }
    }
    const events = [];
    for (const { name, text } of read.files) {
      const parsed = parseJournal(text);
      if (parsed.skipped > 0) {
        this.#warnOnce(`${name}:${parsed.firstSkippedLine}:${parsed.skipped}`, {
          file: join10(this.dir, name),
          skippedLines: parsed.skipped,
          firstSkippedLine: parsed.firstSkippedLine
        }, "telemetry journal: skipped unreadable lines (torn by a crash, or still being written)");
      }
      events.push(...parsed.events);
    }
    return { summary, events };
  }
  // The same damage is reported once per journal object, not on every stats() call.
  #warnOnce(key, fields, message) {
    if (this.#warned.has(key))
      return;
    if (this.#warned.size > 1e3)
      this.#warned.clear();
    this.#warned.add(key);
    safeLog(this.#logger, "warn", fields, message);
  }
};
function sameNumbers(a, b) {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

// dist/telemetry/memory-store.js
var DEFAULT_MAX_MEMORY_EVENTS = 1e4;
var MemoryEventStore = class {
  maxEvents;
  #events = [];
  #folded = emptyCounts();
  #foldedThrough;
  constructor(maxEvents = DEFAULT_MAX_MEMORY_EVENTS) {
    this.maxEvents = maxEvents;
  }
  /** Keeps one event. */
  add(event) {
    this.#events.push(event);
    if (this.#events.length > this.maxEvents) {
      const drop = this.#events.splice(0, Math.ceil(this.maxEvents / 2));
      for (const old of drop) {
        addEvent(this.#folded, old);
        if (this.#foldedThrough === void 0 || old.timestamp > this.#foldedThrough) {
          this.#foldedThrough = old.timestamp;
        }
      }
    }
  }
  /** Raw events still kept, oldest first. */
  get events() {
    return this.#events;
  }
  /** Exact counts of events no longer kept raw. */
  get folded() {
    return this.#folded;
  }
  /** Timestamp of the newest folded event, if any. */
  get foldedThrough() {
    return this.#foldedThrough;
  }
  /** Whether nothing is held. */
  get empty() {
    return this.#events.length === 0 && this.#foldedThrough === void 0;
  }
};

// dist/telemetry/otel-api.js
import { createRequire } from "node:module";
var GLOBAL_KEY = /* @__PURE__ */ Symbol.for("opentelemetry.js.api.1");
var api;
function otelApi() {
  if (api)
    return api;
  if (globalThis[GLOBAL_KEY] === void 0)
    return void 0;
  api = createRequire(import.meta.url)("@opentelemetry/api");
  return api;
}

// dist/telemetry/otel-metrics.js
var INSTRUMENTATION_NAME = "miyabi-worktree";
var METRIC_NAMES = Object.freeze({
  worktreesCreated: "miyabi.worktrees.created",
  worktreesCleanedUp: "miyabi.worktrees.cleaned_up",
  tasks: "miyabi.tasks",
  errors: "miyabi.errors",
  taskDuration: "miyabi.task.duration",
  createDuration: "miyabi.worktree.create.duration",
  cleanupDuration: "miyabi.worktree.cleanup.duration"
});
var ATTRIBUTES = Object.freeze({
  issueNumber: "miyabi.issue.number",
  branch: "miyabi.branch",
  worktreeId: "miyabi.worktree.id",
  batchId: "miyabi.batch.id",
  outcome: "miyabi.task.outcome",
  operation: "miyabi.operation",
  errorCode: "miyabi.error.code"
});
var DURATION_BUCKETS_MS = [
  10,
  50,
  100,
  250,
  500,
  1e3,
  2500,
  5e3,
  1e4,
  3e4,
  6e4,
  3e5,
  9e5,
  18e5
];
var cached;
function instruments() {
  const api2 = otelApi();
  if (!api2)
    return void 0;
  const provider = api2.metrics.getMeterProvider();
  if (cached?.provider === provider)
    return cached.instruments;
  const meter = provider.getMeter(INSTRUMENTATION_NAME);
  const histogram = (name, description) => meter.createHistogram(name, {
    unit: "ms",
    description,
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_MS }
  });
  const made = {
    worktreesCreated: meter.createCounter(METRIC_NAMES.worktreesCreated, {
      unit: "{worktree}",
      description: "Worktrees created"
    }),
    worktreesCleanedUp: meter.createCounter(METRIC_NAMES.worktreesCleanedUp, {
      unit: "{worktree}",
      description: "Worktrees cleaned up"
    }),
    tasks: meter.createCounter(METRIC_NAMES.tasks, {
      unit: "{task}",
      description: "Task executions that ended, by outcome"
    }),
    errors: meter.createCounter(METRIC_NAMES.errors, { unit: "{error}", description: "Failed operations" }),
    taskDuration: histogram(METRIC_NAMES.taskDuration, "Task execution time, by outcome"),
    createDuration: histogram(METRIC_NAMES.createDuration, "Time to create a worktree"),
    cleanupDuration: histogram(METRIC_NAMES.cleanupDuration, "Time to clean up a worktree")
  };
  cached = { provider, instruments: made };
  return made;
}
function recordEventMetrics(event) {
  const m = instruments();
  if (!m)
    return;
  switch (event.type) {
    case "create-complete":
      m.worktreesCreated.add(1);
      m.createDuration.record(event.durationMs);
      break;
    case "execute-complete":
      m.tasks.add(1, { [ATTRIBUTES.outcome]: event.status });
      m.taskDuration.record(event.durationMs, { [ATTRIBUTES.outcome]: event.status });
      break;
    case "cleanup-complete":
      m.worktreesCleanedUp.add(1);
      m.cleanupDuration.record(event.durationMs);
      break;
    case "error":
      m.errors.add(1, {
        [ATTRIBUTES.operation]: event.operation,
        ...event.code !== void 0 ? { [ATTRIBUTES.errorCode]: event.code } : {}
      });
      break;
    default:
      break;
  }
}

// dist/telemetry/report.js
var TELEMETRY_LOCALES = ["en", "ja"];
function resolveTelemetryLocale(locale = "en") {
  if (typeof locale === "string") {
    const language = locale.trim().toLowerCase().split(/[-_]/)[0];
    const found = TELEMETRY_LOCALES.find((l) => l === language);
    if (found)
      return found;
  }
  throw new MiyabiError("INVALID_ARGUMENT", `unknown report locale ${JSON.stringify(locale)}`, {
    hint: `Use one of: ${TELEMETRY_LOCALES.join(", ")}.`,
    details: { locale, supported: TELEMETRY_LOCALES }
  });
}
function formatTelemetryReport(stats, locale = "en") {
  const lang = resolveTelemetryLocale(locale);
  const seconds = finite(stats.averageExecutionMs / 1e3).toFixed(2);
  const rate = finite(stats.successRate).toFixed(1);
  const lines = lang === "ja" ? [
    "\u{1F4CA} Worktree\u5B9F\u884C\u30EC\u30DD\u30FC\u30C8",
    `- \u4F5C\u6210: ${stats.creates}\u56DE`,
    `- \u5B9F\u884C: ${stats.executions}\u56DE\uFF08\u6210\u529F: ${stats.successfulExecutions}, \u5931\u6557: ${stats.failedExecutions}\uFF09`,
    `- \u30AF\u30EA\u30FC\u30F3\u30A2\u30C3\u30D7: ${stats.cleanups}\u56DE`,
    `- \u30A8\u30E9\u30FC: ${stats.errors}\u56DE`,
    `- \u5E73\u5747\u5B9F\u884C\u6642\u9593: ${seconds}\u79D2`,
    `- \u6210\u529F\u7387: ${rate}%`
  ] : [
    "\u{1F4CA} Worktree execution report",
    `- Created: ${stats.creates}`,
    `- Executed: ${stats.executions} (succeeded: ${stats.successfulExecutions}, failed: ${stats.failedExecutions})`,
    `- Cleaned up: ${stats.cleanups}`,
    `- Errors: ${stats.errors}`,
    `- Average execution time: ${seconds}s`,
    `- Success rate: ${rate}%`
  ];
  if (stats.mergeConflicts > 0) {
    const resolved = stats.conflictsResolved;
    lines.push(lang === "ja" ? `- \u30DE\u30FC\u30B8\u7AF6\u5408: ${stats.mergeConflicts}\u56DE${resolved > 0 ? `\uFF08\u89E3\u6C7A: ${resolved}\uFF09` : ""}` : `- Merge conflicts: ${stats.mergeConflicts}${resolved > 0 ? ` (resolved: ${resolved})` : ""}`);
  }
  if (stats.pullRequests > 0) {
    lines.push(lang === "ja" ? `- \u30D7\u30EB\u30EA\u30AF\u30A8\u30B9\u30C8: ${stats.pullRequests}\u4EF6` : `- Pull requests: ${stats.pullRequests}`);
  }
  return lines.join("\n");
}
function finite(value) {
  return Number.isFinite(value) ? value : 0;
}

// dist/telemetry/telemetry.js
var Telemetry = class {
  /** The journal folder, if any. */
  dir;
  #logger;
  #emitter;
  #journal;
  #memory;
  #pending = Promise.resolve();
  constructor(options = {}) {
    const maxMemoryEvents = options.maxMemoryEvents ?? DEFAULT_MAX_MEMORY_EVENTS;
    if (!Number.isSafeInteger(maxMemoryEvents) || maxMemoryEvents < 1) {
      throw new MiyabiError("INVALID_ARGUMENT", `maxMemoryEvents must be a positive integer, got ${String(maxMemoryEvents)} (${typeof maxMemoryEvents})`);
    }
    this.dir = options.dir;
    this.#logger = options.logger ?? silentLogger;
    this.#emitter = new TelemetryEmitter(this.#logger);
    this.#memory = new MemoryEventStore(maxMemoryEvents);
    this.#journal = options.dir === void 0 ? void 0 : new EventJournal(options.dir, {
      logger: this.#logger,
      ...options.maxJournalBytes !== void 0 ? { maxBytes: options.maxJournalBytes } : {}
    });
  }
  /** True while events reach the shared journal; false without a `dir` or once it proved unwritable. */
  get persistent() {
    return this.#journal?.writable ?? false;
  }
  /**
   * Records one lifecycle event and returns it as stored (frozen, with `timestamp` and `pid`).
   * Synchronous and safe to call without awaiting: persisting happens in the background and never
   * fails the caller (an unwritable journal degrades to memory with one warning).
   */
  record(input) {
    assertEventInput(input);
    const event = Object.freeze({
      ...input,
      timestamp: input.timestamp ?? (/* @__PURE__ */ new Date()).toISOString(),
      pid: input.pid ?? process.pid
    });
    this.#emitter.emit(event);
    this.#log(event);
    try {
      recordEventMetrics(event);
    } catch (error) {
      safeLog(this.#logger, "warn", { err: String(error) }, "recording OpenTelemetry metrics failed");
    }
    this.#pending = this.#pending.then(() => this.#persist(event));
    return event;
  }
  /** Resolves when every event recorded so far is on disk (or, if it cannot be, in memory). */
  flush() {
    return this.#pending;
  }
  /** Subscribes to every event. */
  on(name, listener) {
    this.#emitter.on(name, listener);
    return this;
  }
  /** Subscribes to the next event only. */
  once(name, listener) {
    this.#emitter.once(name, listener);
    return this;
  }
  /** Unsubscribes. */
  off(name, listener) {
    this.#emitter.off(name, listener);
    return this;
  }
  /**
   * Stats over every process's history of the repository, or over a scope of it. A `since` that
   * reaches back past the retained raw history logs a warning: compacted events cannot be dated.
   */
  async stats(scope) {
    const normalized = normalizeScope(scope);
    await this.flush();
    return toTelemetryStats(normalized ? await this.#scopedCounts(normalized) : await this.#allTimeCounts());
  }
  /** Batch ids the journal knows (raw events and compacted summary), least recent first. */
  async batches() {
    await this.flush();
    const compacted = [];
    const events = [...this.#memory.events];
    if (this.#journal) {
      const snapshot = await this.#journal.snapshot();
      compacted.push(...Object.entries(snapshot.summary.batches).sort(([, a], [, b]) => a.lastAt.localeCompare(b.lastAt)).map(([id]) => id));
      events.unshift(...snapshot.events);
    }
    const ids = /* @__PURE__ */ new Set();
    for (const id of [...compacted, ...events.map((event) => event.batchId)]) {
      if (id === void 0)
        continue;
      ids.delete(id);
      ids.add(id);
    }
    return [...ids];
  }
  /** The retained raw events of every process (older ones are compacted into counts), oldest first, or a scope of them. */
  async events(scope) {
    const normalized = normalizeScope(scope);
    await this.flush();
    const events = [
      ...this.#journal ? (await this.#journal.snapshot()).events : [],
      ...this.#memory.events
    ];
    return normalized ? events.filter((event) => inScope(event, normalized)) : events;
  }
  /** The seven-line report (English by default, or `locale: 'ja'`); unknown locale: `INVALID_ARGUMENT`. */
  async report(options = {}) {
    const locale = resolveTelemetryLocale(options.locale ?? "en");
    const { since, batchId } = options;
    const stats = await this.stats({
      ...since !== void 0 ? { since } : {},
      ...batchId !== void 0 ? { batchId } : {}
    });
    return formatTelemetryReport(stats, locale);
  }
  async #persist(event) {
    if (this.#journal && await this.#journal.append(event))
      return;
    this.#memory.add(event);
  }
  async #allTimeCounts() {
    const memory = mergeCounts(this.#memory.folded, foldEvents(this.#memory.events));
    if (!this.#journal)
      return memory;
    const snapshot = await this.#journal.snapshot();
    return mergeCounts(snapshot.summary.counts, foldEvents(snapshot.events), memory);
  }
  async #scopedCounts(scope) {
    const parts = [foldEvents(this.#memory.events.filter((e) => inScope(e, scope)))];
    let undatedThrough = scope.batchId === void 0 ? this.#memory.foldedThrough : void 0;
    if (this.#journal) {
      const { summary, events } = await this.#journal.snapshot();
      parts.push(foldEvents(events.filter((e) => inScope(e, scope))));
      if (scope.batchId === void 0) {
        if (summary.compactedThrough !== void 0) {
          undatedThrough = maxTimestamp(undatedThrough, summary.compactedThrough);
        }
      } else {
        const batch = summary.batches[scope.batchId];
        if (batch && scope.sinceMs === void 0)
          parts.push(batch.counts);
        else if (batch)
          undatedThrough = batch.lastAt;
      }
    }
    if (scope.sinceMs !== void 0 && undatedThrough !== void 0 && Date.parse(undatedThrough) >= scope.sinceMs) {
      safeLog(this.#logger, "warn", { since: new Date(scope.sinceMs).toISOString(), compactedThrough: undatedThrough }, "telemetry scope reaches into compacted history; counting only the retained raw events");
    }
    return mergeCounts(...parts);
  }
  #log(event) {
    const fields = { event: event.type, worktreeId: event.worktreeId };
    if (event.branch !== void 0)
      fields.branch = event.branch;
    if (event.issueNumber !== void 0)
      fields.issueNumber = event.issueNumber;
    if ("durationMs" in event && event.durationMs !== void 0)
      fields.durationMs = event.durationMs;
    if (event.batchId !== void 0)
      fields.batchId = event.batchId;
    switch (event.type) {
      case "create-complete":
        fields.path = event.path;
        break;
      case "execute-complete":
        fields.success = event.success;
        fields.status = event.status;
        break;
      case "cleanup-complete":
        fields.archived = event.archived;
        fields.branchDeleted = event.branchDeleted;
        break;
      case "error":
        fields.operation = event.operation;
        if (event.code !== void 0)
          fields.code = event.code;
        fields.err = event.message;
        break;
      default:
        break;
    }
    safeLog(this.#logger, event.type === "error" ? "warn" : "info", fields, `worktree ${event.type}`);
  }
};
function assertEventInput(input) {
  if (typeof input !== "object" || input === null) {
    throw new MiyabiError("INVALID_ARGUMENT", `event must be an object, got ${input === null ? "null" : typeof input}`);
  }
  if (!WORKTREE_EVENT_TYPES.includes(input.type)) {
    throw new MiyabiError("INVALID_ARGUMENT", `unknown event type ${JSON.stringify(input.type)}`, {
      hint: `Use one of: ${WORKTREE_EVENT_TYPES.join(", ")}.`
    });
  }
  if (typeof input.worktreeId !== "string" || input.worktreeId === "") {
    throw new MiyabiError("INVALID_ARGUMENT", `event ${input.type} needs a worktreeId string`);
  }
}
function maxTimestamp(a, b) {
  return a === void 0 || b > a ? b : a;
}

// dist/manager/worktree-id.js
import { randomBytes } from "node:crypto";
var WORKTREE_ID_FORMAT = /^issue-(\d+)-[0-9a-f]{8}$/;
function newWorktreeId(issueNumber) {
  return `issue-${issueNumber}-${randomBytes(4).toString("hex")}`;
}
var SLOT_NAME_FORMAT = /^slot-[0-9a-f]{8}$/;
function newSlotName() {
  return `slot-${randomBytes(4).toString("hex")}`;
}
function issueOfWorktreeId(id) {
  const issue = WORKTREE_ID_FORMAT.exec(id)?.[1];
  return issue === void 0 ? null : Number(issue);
}
function countByStatus(statuses) {
  const counts = Object.fromEntries(WORKTREE_STATUSES.map((status) => [status, 0]));
  for (const status of statuses)
    counts[status]++;
  return counts;
}

// dist/manager/archives.js
var PREFIX = "refs/miyabi/archive/";
var TRAILER = "Miyabi-Archive: ";
async function listArchives(repoRoot, signal) {
  const format = "%(refname)%00%(objectname)%00%(creatordate:iso-strict)%00%(contents)%1e";
  const { stdout } = await runGit(["for-each-ref", `--format=${format}`, PREFIX], { cwd: repoRoot, signal });
  const entries = [];
  for (const chunk of stdout.split("")) {
    const [ref = "", commit = "", date = "", message = ""] = chunk.replace(/^\n/, "").split("\0");
    const id = ref.slice(PREFIX.length);
    if (!ref.startsWith(PREFIX) || id === "" || id.includes("/"))
      continue;
    const meta = parseTrailer(message);
    entries.push({
      id,
      ref,
      commit,
      issueNumber: numberOrNull(meta.issueNumber) ?? issueOfWorktreeId(id),
      branchName: typeof meta.branchName === "string" ? meta.branchName : null,
      uncommittedPaths: Array.isArray(meta.uncommittedPaths) ? meta.uncommittedPaths.map(String) : [],
      unmergedCommits: numberOrNull(meta.unmergedCommits),
      archivedAt: typeof meta.archivedAt === "string" ? meta.archivedAt : date
    });
  }
  return entries.sort((a, b) => a.archivedAt.localeCompare(b.archivedAt) || a.id.localeCompare(b.id));
}
function parseTrailer(message) {
  const line = message.split("\n").find((l) => l.startsWith(TRAILER));
  if (!line)
    return {};
  try {
    const value = JSON.parse(line.slice(TRAILER.length));
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    return {};
  }
}
function numberOrNull(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
async function dropArchive(repoRoot, id, options = {}) {
  assertWorktreeId(id);
  const ref = `${PREFIX}${id}`;
  const entry = (await listArchives(repoRoot, options.signal)).find((archive2) => archive2.ref === ref);
  if (!entry) {
    throw new MiyabiError("NOT_FOUND", `no archive with id '${id}'`, {
      hint: "listArchives() lists the archives there are.",
      details: { id }
    });
  }
  if (options.force !== true) {
    const why = await uniqueWork(repoRoot, entry, options.signal);
    if (why) {
      throw new MiyabiError("UNMERGED_WORK", `archive ${id} holds ${why}; dropping it would lose that work`, {
        hint: "Restore it and merge or push what you want to keep, or pass force: true to drop it anyway.",
        details: { id, ref, commit: entry.commit }
      });
    }
  }
  await runGit(["update-ref", "-d", ref, entry.commit], { cwd: repoRoot, signal: options.signal });
  return { id, ref, commit: entry.commit };
}
async function uniqueWork(repoRoot, entry, signal) {
  if (entry.uncommittedPaths.length > 0)
    return `${entry.uncommittedPaths.length} uncommitted file(s)`;
  const { stdout } = await runGit(["rev-list", "--count", `${entry.commit}^@`, "--not", "--branches", "--tags", "--remotes"], { cwd: repoRoot, signal });
  const commits = Number(stdout.trim());
  return commits > 0 ? `${commits} commit(s) on no branch, tag or remote branch` : void 0;
}

// dist/manager/cleanup-all.js
import { readdir as readdir6, rmdir } from "node:fs/promises";
import { basename as basename2, join as join18 } from "node:path";

// dist/git/worktree-admin.js
import { open as open3, readdir as readdir3, readFile as readFile4 } from "node:fs/promises";
import { dirname as dirname2, isAbsolute, join as join11, resolve as resolve2 } from "node:path";
async function readAdminLockReason(commonDir, name) {
  return readFile4(join11(commonDir, "worktrees", name, "locked"), "utf8").then((text) => text.trim(), () => void 0);
}
async function worktreeAdminDir(worktreePath) {
  let pointer;
  try {
    pointer = await readFile4(join11(worktreePath, ".git"), "utf8");
  } catch {
    return void 0;
  }
  const match = /^gitdir: (.+)$/m.exec(pointer);
  if (!match?.[1])
    return void 0;
  return isAbsolute(match[1]) ? match[1] : resolve2(worktreePath, match[1]);
}
async function readWorktreeLockReason(worktreePath) {
  const adminDir = await worktreeAdminDir(worktreePath);
  if (!adminDir)
    return void 0;
  try {
    return (await readFile4(join11(adminDir, "locked"), "utf8")).trim();
  } catch {
    return void 0;
  }
}
var SMALL_TREE_FILES = 1e3;
async function readIndexEntryCount(worktreePath) {
  const adminDir = await worktreeAdminDir(worktreePath);
  return adminDir ? readIndexHeaderCount(join11(adminDir, "index")) : void 0;
}
async function readIndexHeaderCount(indexFile) {
  let handle;
  try {
    handle = await open3(indexFile, "r");
    const header = Buffer.alloc(12);
    const { bytesRead } = await handle.read(header, 0, 12, 0);
    if (bytesRead < 12 || header.toString("latin1", 0, 4) !== "DIRC")
      return void 0;
    return header.readUInt32BE(8);
  } catch {
    return void 0;
  } finally {
    await handle?.close();
  }
}
async function findCheckoutOfBranch(root, commonDir, ref) {
  const wanted = `ref: ${ref}`;
  const headOf = (dir) => readFile4(join11(dir, "HEAD"), "utf8").then((t) => t.trim(), () => "");
  if (await headOf(commonDir) === wanted)
    return root;
  const names = await readdir3(join11(commonDir, "worktrees")).catch(() => []);
  for (const name of names) {
    const admin = join11(commonDir, "worktrees", name);
    if (await headOf(admin) !== wanted)
      continue;
    const gitFile = await readFile4(join11(admin, "gitdir"), "utf8").then((t) => t.trim(), () => "");
    if (gitFile)
      return dirname2(resolve2(admin, gitFile));
  }
  return void 0;
}
var OWN_LOCK_PREFIX = "miyabi-worktree";
function ownLockReason(owner, options = {}) {
  return `${OWN_LOCK_PREFIX} pid=${owner.pid} host=${owner.host}${options.createdBranch ? CREATED_BRANCH : ""}`;
}
var CREATED_BRANCH = " branch=created";
function ownLockCreatedBranch(reason2) {
  return ownLockOwner(reason2) !== void 0 && (reason2 ?? "").endsWith(CREATED_BRANCH);
}
function isOwnLock(reason2) {
  return reason2?.startsWith(`${OWN_LOCK_PREFIX} pid=`) ?? false;
}
function ownLockOwner(reason2) {
  const match = /^miyabi-worktree pid=(\d+) host=(\S+)(?: branch=created)?$/.exec(reason2 ?? "");
  return match?.[1] && match[2] ? { pid: Number(match[1]), host: match[2] } : void 0;
}

// dist/state/owner.js
import { hostname } from "node:os";
function currentOwner() {
  return { pid: process.pid, host: hostname() };
}
function isOwnerAlive(owner) {
  if (!owner)
    return false;
  if (owner.host !== hostname())
    return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return error.code === "EPERM";
  }
  const stat8 = readProcStat(owner.pid);
  return stat8 ? stat8.live : !HAS_PROC;
}

// dist/manager/list-worktrees.js
import { existsSync as existsSync3 } from "node:fs";
import { rm as rm3 } from "node:fs/promises";

// dist/manager/context.js
function releaseSlot(ctx, id) {
  const release = ctx.heldSlots.get(id);
  if (release) {
    ctx.heldSlots.delete(id);
    release();
  }
}

// dist/manager/removal-refusals.js
import { existsSync as existsSync2 } from "node:fs";
import { basename, dirname as dirname3, join as join12, resolve as resolve3 } from "node:path";
async function linkedToGit(path) {
  const adminDir = await worktreeAdminDir(path);
  return adminDir !== void 0 && existsSync2(adminDir);
}
async function readEntryLock(ctx, record) {
  const reason2 = await readWorktreeLockReason(record.path) ?? await readAdminLockReason(ctx.repo.commonDir, basename(record.path));
  const linked = await worktreeAdminDir(record.path);
  const known = reason2 !== void 0 || linked !== void 0 && existsSync2(linked) || existsSync2(join12(ctx.repo.commonDir, "worktrees", basename(record.path)));
  return { known, reason: reason2 };
}
function foreignReason(ctx, record, lock) {
  const folder = record.worktreeDir ?? ctx.worktreeDir;
  if (resolve3(record.path) !== record.path || dirname3(record.path) !== folder || basename(record.path) !== (record.slot ?? record.id) || record.slot !== void 0 && !SLOT_NAME_FORMAT.test(record.slot)) {
    return `its path is not ${join12(folder, record.slot ?? record.id)} (directly inside the worktree folder it was created in)`;
  }
  if (lock?.known && lock.reason === void 0 && !record.removal?.unverified) {
    return "its git worktree entry carries no lock (every worktree this tool creates is locked from birth)";
  }
  return void 0;
}
function refuseForeign(ctx, record, lock) {
  const reason2 = foreignReason(ctx, record, lock);
  if (reason2 === void 0)
    return;
  throw new MiyabiError("FOREIGN_WORKTREE", `worktree ${record.id} (${record.path}) is not one this tool created: ${reason2}`, {
    details: { id: record.id, path: record.path, reason: reason2 }
  });
}
function refuseLocked(record, lock, force) {
  const { reason: reason2 } = lock;
  if (reason2 === void 0 || isOwnLock(reason2) || force)
    return;
  throw new MiyabiError("LOCKED", `worktree ${record.id} is locked${reason2 ? ` (${reason2})` : ""}`, {
    hint: `Unlock it with: git worktree unlock ${record.path} \u2014 or pass force to remove it anyway.`,
    details: { id: record.id, reason: reason2 }
  });
}
function refuseUnarchivable(record, assessment) {
  if (assessment.unarchivable.length === 0)
    return;
  throw new MiyabiError("WORKTREE_DIRTY", `worktree ${record.id} holds repositories whose work cannot be archived: ${assessment.unarchivable.join("; ")}`, {
    hint: "Commit and push their work (or move them out of the worktree), then remove again; force removes them anyway.",
    details: { id: record.id, repositories: assessment.unarchivable }
  });
}

// dist/manager/list-worktrees.js
async function readWorktrees(ctx, signal) {
  const [records, git] = await Promise.all([ctx.registry.read(), listGitWorktrees(ctx.repo.root, signal)]);
  const byPath = new Map(git.map((entry) => [entry.path, entry]));
  const live2 = [];
  const vanished = [];
  const foreign = [];
  for (const record of records) {
    const entry = byPath.get(record.path);
    const notOurs = foreignReason(ctx, record, entry && { known: true, reason: entry.locked });
    if (notOurs !== void 0)
      foreign.push({ record, reason: notOurs });
    else if (!entry)
      vanished.push({ record, reason: "git no longer knows this worktree (pruned or removed by hand)" });
    else if (entry.prunable !== void 0 || !existsSync3(record.path)) {
      vanished.push({ record, reason: `its folder is gone (${entry.prunable || "missing"})` });
    } else
      live2.push(record);
  }
  return { records, live: live2, vanished, foreign, git };
}
async function listWorktrees(ctx, signal) {
  const { records, live: live2, vanished, foreign } = await readWorktrees(ctx, signal);
  warnForeign(ctx, foreign);
  if (vanished.length === 0)
    return live2;
  const gone = new Set((await reconcileVanished(ctx, vanished)).map((v) => v.record.id));
  const notOurs = new Set(foreign.map((f) => f.record.id));
  return records.filter((record) => !gone.has(record.id) && !notOurs.has(record.id));
}
function warnForeign(ctx, foreign) {
  for (const { record, reason: reason2 } of foreign) {
    safeLog(ctx.logger, "warn", { worktreeId: record.id, path: record.path, reason: reason2 }, "registry record names no worktree of ours; left alone");
  }
}
async function reconcileVanished(ctx, vanished) {
  return ctx.lock.run(async () => {
    const suspects = new Set(vanished.map((v) => v.record.id));
    const confirmed = (await readWorktrees(ctx)).vanished.filter((v) => suspects.has(v.record.id));
    const ids = new Set(confirmed.map((v) => v.record.id));
    for (const { record, reason: reason2 } of confirmed) {
      await runGit(["worktree", "remove", "--force", "--force", record.path], { cwd: ctx.repo.root }).catch(() => {
      });
      if (record.removal)
        await rm3(record.path, { recursive: true, force: true });
      releaseSlot(ctx, record.id);
      safeLog(ctx.logger, "warn", { worktreeId: record.id, branch: record.branchName, reason: reason2 }, "worktree vanished");
    }
    await ctx.registry.mutate((records) => records.filter((r) => !ids.has(r.id)));
    return confirmed;
  });
}

// dist/process/task-processes.js
import { readFileSync as readFileSync2 } from "node:fs";
var WORKTREE_ID_VAR = "MIYABI_WORKTREE_ID";
function carriesWorktreeId(pid, marker) {
  try {
    return readFileSync2(`/proc/${pid}/environ`, "latin1").split("\0").includes(marker);
  } catch {
    return false;
  }
}
function selfAndAncestors() {
  const pids = /* @__PURE__ */ new Set();
  const pgids = /* @__PURE__ */ new Set();
  let pid = process.pid;
  while (pid > 1 && !pids.has(pid)) {
    const info = readProcStat(pid);
    if (!info)
      break;
    pids.add(pid);
    pgids.add(info.pgid);
    pid = info.ppid;
  }
  return { pids, pgids };
}
function findTaskProcesses(id) {
  const marker = `${WORKTREE_ID_VAR}=${id}`;
  const self = selfAndAncestors();
  const found = [];
  for (const pid of listProcessIds() ?? []) {
    if (self.pids.has(pid) || !carriesWorktreeId(pid, marker))
      continue;
    const stat8 = readProcStat(pid);
    if (stat8?.live)
      found.push({ pid, pgid: stat8.pgid });
  }
  return found;
}
async function stopTaskProcesses(id, graceMs = 2e3) {
  const found = new Map(findTaskProcesses(id).map((p) => [p.pid, p]));
  if (found.size === 0)
    return [];
  const self = selfAndAncestors();
  const target = {
    send(signal) {
      for (const p of findTaskProcesses(id))
        found.set(p.pid, p);
      const taskGroups = new Set([...found.values()].filter((p) => p.pid === p.pgid && !self.pgids.has(p.pgid)).map((p) => p.pgid));
      for (const pgid of taskGroups)
        killGroup(pgid, signal);
      for (const p of found.values()) {
        if (taskGroups.has(p.pgid))
          continue;
        try {
          process.kill(p.pid, signal);
        } catch {
        }
      }
    },
    alive: () => [...found.keys()].some((pid) => readProcStat(pid)?.live === true) || findTaskProcesses(id).length > 0
  };
  await terminate(target, { graceMs });
  return [...found.keys()].sort((a, b) => a - b);
}

// dist/manager/removal-archive.js
function archiveRefName(id) {
  return `refs/miyabi/archive/${id}`;
}
async function archive(ctx, record, assessment, options = {}) {
  const snapshotTree = options.commitsOnly ? void 0 : assessment.snapshotTree;
  const uncommittedPaths2 = snapshotTree ? assessment.uncommittedPaths : [];
  const head = (snapshotTree ? assessment.snapshotHead : void 0) ?? assessment.worktreeHead ?? assessment.branchTip;
  if (!head || !snapshotTree && assessment.unmergedCommits === 0)
    return null;
  const tree = snapshotTree ?? `${head}^{tree}`;
  const { ref, commit } = await writeArchive(ctx.repo.root, tree, {
    id: record.id,
    issueNumber: record.issueNumber,
    branchName: record.branchName,
    baseBranch: record.baseBranch,
    head,
    uncommittedPaths: uncommittedPaths2,
    unmergedCommits: assessment.unmergedCommits,
    archivedAt: (/* @__PURE__ */ new Date()).toISOString()
  });
  return {
    ref,
    commit,
    uncommittedPaths: uncommittedPaths2,
    unmergedCommits: assessment.unmergedCommits
  };
}

// dist/manager/removal-assessment.js
import { existsSync as existsSync5 } from "node:fs";

// dist/git/interrupted-checkout.js
import { existsSync as existsSync4 } from "node:fs";
import { mkdtemp as mkdtemp3, readFile as readFile5, rm as rm4 } from "node:fs/promises";
import { tmpdir as tmpdir2 } from "node:os";
import { join as join13 } from "node:path";
async function isInterruptedCheckout(worktreePath, state, signal) {
  if (state.head === void 0 || state.uncommittedPaths.length === 0)
    return false;
  const adminDir = await worktreeAdminDir(worktreePath);
  if (adminDir === void 0 || existsSync4(join13(adminDir, "index")))
    return false;
  const temp = await mkdtemp3(join13(tmpdir2(), "miyabi-checkout-"));
  try {
    const env = { GIT_INDEX_FILE: join13(temp, "index") };
    await runGit(["read-tree", state.head], { cwd: worktreePath, env, signal });
    const { stdout } = await runGit(["status", "--porcelain=v2", "-z", "--untracked-files=all", "--no-renames", "--ignore-submodules=none"], { cwd: worktreePath, env, signal });
    const records = stdout.split("\0").filter((record) => record !== "");
    const cutShort = records.filter((record) => !record.startsWith("1 .D "));
    if (cutShort.length > MAX_FILES_BEING_WRITTEN)
      return false;
    for (const record of cutShort) {
      if (!await isCutShort(worktreePath, record, signal))
        return false;
    }
    return true;
  } finally {
    await rm4(temp, { recursive: true, force: true });
  }
}
var MAX_FILES_BEING_WRITTEN = 64;
async function isCutShort(worktreePath, record, signal) {
  const [kind, xy, , modeHead, , modeWorktree, blob, , ...rest] = record.split(" ");
  const path = rest.join(" ");
  if (kind !== "1" || xy !== ".M" || !blob || modeHead !== modeWorktree || modeHead !== "100644" && modeHead !== "100755") {
    return false;
  }
  const written = await readFile5(join13(worktreePath, path), "utf8").catch(() => void 0);
  if (written === void 0)
    return false;
  const { stdout: original } = await runGit(["cat-file", "blob", blob], { cwd: worktreePath, signal });
  if (written.includes("\uFFFD") || original.includes("\uFFFD"))
    return false;
  return written.length < original.length && original.startsWith(written);
}

// dist/git/nested-repositories.js
import { readdir as readdir4, stat as stat4 } from "node:fs/promises";
import { join as join14, relative } from "node:path";
async function unarchivableRepositories(worktreePath, state, signal) {
  const found = [];
  for (const nested of state.nestedRepositories) {
    const dir = join14(worktreePath, nested.path);
    if (nested.submodule) {
      if (await hasUncommittedChanges(dir, signal))
        found.push(`${nested.path}: uncommitted changes in a submodule`);
      continue;
    }
    if (await hasUncommittedChanges(dir, signal))
      found.push(`${nested.path}: uncommitted changes in a nested repository`);
    const unpushed = await commitsOnNoRemote([], dir, signal);
    if (unpushed > 0)
      found.push(`${nested.path}: ${unpushed} commit(s) of a nested repository on none of its remotes`);
  }
  const adminDir = await worktreeAdminDir(worktreePath);
  if (adminDir) {
    for (const gitDir of await moduleGitDirs(join14(adminDir, "modules"))) {
      const unpushed = await commitsOnNoRemote([`--git-dir=${gitDir}`], gitDir, signal);
      const name = relative(join14(adminDir, "modules"), gitDir).split("/modules/").join("/");
      if (unpushed > 0)
        found.push(`${name}: ${unpushed} commit(s) of a submodule on none of its remotes`);
    }
  }
  return found;
}
async function hasUncommittedChanges(dir, signal) {
  const { stdout } = await runGit(["status", "--porcelain", "--untracked-files=normal"], {
    cwd: dir,
    signal
  });
  return stdout.trim() !== "";
}
async function commitsOnNoRemote(select, cwd, signal) {
  const { stdout } = await runGit([...select, "rev-list", "--count", "--all", "--not", "--remotes"], {
    cwd,
    signal
  });
  return Number.parseInt(stdout.trim(), 10) || 0;
}
async function moduleGitDirs(modulesDir) {
  const entries = await readdir4(modulesDir, { withFileTypes: true }).catch(() => []);
  const dirs = [];
  for (const entry of entries) {
    if (!entry.isDirectory())
      continue;
    const dir = join14(modulesDir, entry.name);
    const isGitDir = await stat4(join14(dir, "HEAD")).then((info) => info.isFile(), () => false);
    dirs.push(...isGitDir ? [dir, ...await moduleGitDirs(join14(dir, "modules"))] : await moduleGitDirs(dir));
  }
  return dirs;
}

// dist/manager/removal-assessment.js
async function assessBranch(ctx, record, signal, known = {}) {
  const branchTip = known.tip ?? await readBranchTip(ctx, record.branchName);
  const baseRefs = [`refs/heads/${record.baseBranch}`, record.baseCommit];
  const unmerged = branchTip && branchTip !== record.baseCommit ? await countUnmergedCommits(ctx.repo.root, `refs/heads/${record.branchName}`, baseRefs, { signal }) : 0;
  return {
    folderExists: existsSync5(record.path),
    branchTip,
    branchUnmergedCommits: unmerged,
    unmergedCommits: unmerged,
    worktreeHead: void 0,
    unarchivable: [],
    uncommittedPaths: [],
    snapshotTree: void 0,
    snapshotHead: void 0
  };
}
async function assess(ctx, record, options) {
  const folderExists = existsSync5(record.path);
  const read = folderExists ? await readWorktreeState(record.path, options.signal) : void 0;
  const state = read && await isInterruptedCheckout(record.path, read, options.signal) ? { ...read, uncommittedPaths: [], nestedRepositories: [] } : read;
  const onBranch = state?.branch === record.branchName;
  const branchTip = state?.head && onBranch ? state.head : await readBranchTip(ctx, record.branchName);
  const baseRefs = [`refs/heads/${record.baseBranch}`, record.baseCommit];
  const { signal } = options;
  const [unmergedCommits, detachedCommits, snapshot] = await Promise.all([
    // A branch still at its start commit holds nothing new: skip the rev-list.
    branchTip && branchTip !== record.baseCommit ? countUnmergedCommits(ctx.repo.root, `refs/heads/${record.branchName}`, baseRefs, { signal }) : 0,
    // An agent that detached HEAD (or switched away) may have commits that only this worktree's
    // HEAD reaches: its reflog goes with the worktree, so they count as unmerged too.
    state?.head && !onBranch && state.head !== branchTip ? countUnmergedCommits(ctx.repo.root, state.head, baseRefs, { signal, otherBranches: true }) : 0,
    state && options.snapshot ? snapshotWorktree(record.path, { signal, state, unbornParent: branchTip ?? record.baseCommit }) : null
  ]);
  const unarchivable = state ? await unarchivableRepositories(record.path, state, signal) : [];
  return {
    folderExists,
    branchTip,
    branchUnmergedCommits: unmergedCommits,
    unmergedCommits: unmergedCommits + detachedCommits,
    worktreeHead: detachedCommits > 0 ? state?.head : void 0,
    unarchivable,
    uncommittedPaths: state?.uncommittedPaths ?? [],
    snapshotTree: snapshot?.tree,
    snapshotHead: snapshot?.head
  };
}
async function readBranchTip(ctx, branchName) {
  const tip = await runGit(["rev-parse", "--verify", "--quiet", `refs/heads/${branchName}^{commit}`], {
    cwd: ctx.repo.root,
    okExitCodes: [0, 1]
  });
  return tip.exitCode === 0 ? tip.stdout.trim() : void 0;
}

// dist/manager/removal-branch-policy.js
function branchDecision(record, assessment, deleteBranch) {
  if (!assessment.branchTip)
    return { branchDeleted: false, branchKeptReason: "the branch no longer exists" };
  const keep = deleteBranch ? branchKeepReason(record, assessment) : "deleteBranch is false";
  return keep ? { branchDeleted: false, branchKeptReason: keep } : { branchDeleted: true };
}
async function settleBranch(ctx, record, assessment, options) {
  const decision = branchDecision(record, assessment, options.deleteBranch);
  if (!decision.branchDeleted || !assessment.branchTip)
    return decision;
  const deleted = await runGit(["update-ref", "-d", `refs/heads/${record.branchName}`, assessment.branchTip], {
    cwd: ctx.repo.root
  }).then(() => true, () => false);
  return deleted ? { branchDeleted: true } : { branchDeleted: false, branchKeptReason: "the branch moved during removal" };
}
function branchKeepReason(record, assessment) {
  if (record.reusedBranch)
    return "the branch existed before this worktree";
  if (assessment.branchUnmergedCommits > 0) {
    return `${assessment.branchUnmergedCommits} commit(s) are in neither ${record.baseBranch} nor any remote branch`;
  }
  return void 0;
}

// dist/manager/removal-claim.js
async function setClaim(ctx, id, change) {
  await ctx.registry.mutate((records) => records.map((r) => {
    if (r.id !== id)
      return r;
    const { removal, ...rest } = r;
    const next = change(removal);
    return next ? { ...rest, removal: next } : rest;
  }));
}
function refuseIfBeingRemoved(record) {
  const claim = record.removal;
  if (!claim || claim.failed !== void 0 || !isOwnerAlive(claim.owner))
    return;
  throw new MiyabiError("LOCKED", `worktree ${record.id} is being removed by process ${claim.owner.pid}`, {
    hint: "Wait for that removal to finish; if that process dies, removing it again takes over.",
    details: { id: record.id, owner: claim.owner, beingRemoved: true }
  });
}
function isBeingRemovedError(error) {
  return isMiyabiError(error) && error.code === "LOCKED" && error.details?.beingRemoved === true;
}

// dist/manager/plan-removal.js
async function planRemoval(ctx, record, options = {}) {
  refuseIfBeingRemoved(record);
  const lock = await readEntryLock(ctx, record);
  refuseForeign(ctx, record, lock);
  refuseLocked(record, lock, false);
  const assessment = record.removal ? await assessBranch(ctx, record, void 0) : await assess(ctx, record, { snapshot: false });
  if (!record.removal)
    refuseUnarchivable(record, assessment);
  const wouldArchive = assessment.uncommittedPaths.length > 0 || assessment.unmergedCommits > 0;
  const wouldStop = findTaskProcesses(record.id).map((p) => p.pid);
  return {
    id: record.id,
    path: record.path,
    branchName: record.branchName,
    worktreeRemoved: false,
    ...branchDecision(record, assessment, options.deleteBranch ?? true),
    archived: record.removal ? record.removal.archived : wouldArchive ? {
      ref: archiveRefName(record.id),
      commit: "",
      uncommittedPaths: assessment.uncommittedPaths,
      unmergedCommits: assessment.unmergedCommits
    } : null,
    forced: false,
    ...wouldStop.length > 0 ? { stoppedProcesses: [...new Set(wouldStop)].sort((a, b) => a - b) } : {}
  };
}

// dist/manager/remove-worktree.js
import { randomUUID as randomUUID2 } from "node:crypto";
import { existsSync as existsSync7 } from "node:fs";
import { rm as rm6 } from "node:fs/promises";

// dist/manager/record-failure.js
function recordFailure(ctx, operation, eventBase, started, error) {
  const failure2 = toError(error);
  ctx.telemetry.record({
    type: "error",
    ...eventBase,
    operation,
    message: failure2.message,
    ...failure2 instanceof MiyabiError ? { code: failure2.code } : {},
    durationMs: Math.round(performance.now() - started)
  });
  return failure2;
}

// dist/manager/removal-files.js
var EMPTY_TREE_SHA1 = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
var EMPTY_TREE_SHA256 = "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321";
async function deleteTrackedFilesOutsideLock(record) {
  const tracked = await readIndexEntryCount(record.path);
  if (tracked === void 0 || tracked < SMALL_TREE_FILES)
    return;
  const emptyTree = record.baseCommit.length === 64 ? EMPTY_TREE_SHA256 : EMPTY_TREE_SHA1;
  await runGit(["read-tree", "-u", "--reset", emptyTree], { cwd: record.path }).catch(() => void 0);
}

// dist/manager/removal-quick.js
import { randomUUID } from "node:crypto";
import { existsSync as existsSync6 } from "node:fs";
import { readFile as readFile7, rm as rm5, writeFile as writeFile2 } from "node:fs/promises";
import { join as join16 } from "node:path";

// dist/git/loose-ref.js
import { readFile as readFile6 } from "node:fs/promises";
import { join as join15 } from "node:path";
var OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
async function readLooseRef(commonDir, ref) {
  const text = await readFile6(join15(commonDir, ...ref.split("/")), "utf8").catch(() => "");
  const value = text.trim();
  return OID.test(value) ? value : void 0;
}

// dist/manager/removal-quick.js
async function quickRemoval(ctx, record, options) {
  const adminDir = await worktreeAdminDir(record.path);
  if (!adminDir)
    return void 0;
  const [head, files] = await Promise.all([
    readFile7(join16(adminDir, "HEAD"), "utf8").catch(() => ""),
    readIndexHeaderCount(join16(adminDir, "index"))
  ]);
  if (head.trim() !== `ref: refs/heads/${record.branchName}`)
    return void 0;
  if (files === void 0 || files >= SMALL_TREE_FILES)
    return void 0;
  const lockFile = join16(adminDir, "locked");
  return ctx.lock.run(async () => {
    const current = (await ctx.registry.read()).find((r) => r.id === record.id);
    if (!current)
      throw new MiyabiError("NOT_FOUND", `worktree ${record.id} was removed meanwhile`, {
        details: { id: record.id }
      });
    refuseIfBeingRemoved(current);
    if (current.removal)
      return void 0;
    const token = randomUUID();
    await setClaim(ctx, record.id, () => ({
      owner: currentOwner(),
      token,
      startedAt: (/* @__PURE__ */ new Date()).toISOString(),
      archived: null,
      unverified: true
    }));
    const lockReason = await readFile7(lockFile, "utf8").catch(() => void 0);
    await rm5(lockFile, { force: true });
    const removed = await runGit(["worktree", "remove", record.path], { cwd: ctx.repo.root }).then(() => true, () => false);
    if (!removed) {
      if (lockReason !== void 0 && existsSync6(adminDir))
        await writeFile2(lockFile, lockReason);
      await setClaim(ctx, record.id, (claim) => claim?.token === token ? void 0 : claim);
      return void 0;
    }
    await rm5(record.path, { recursive: true, force: true });
    const assessment = await assessBranch(ctx, record, options.signal, {
      tip: await readLooseRef(ctx.repo.commonDir, `refs/heads/${record.branchName}`)
    });
    const archived = await archive(ctx, record, assessment, { commitsOnly: true });
    const branch = await settleBranch(ctx, record, assessment, { deleteBranch: options.deleteBranch });
    await ctx.registry.mutate((records) => records.filter((r) => r.id !== record.id));
    return {
      archived,
      result: {
        id: record.id,
        path: record.path,
        branchName: record.branchName,
        worktreeRemoved: !existsSync6(record.path),
        ...branch,
        archived
      }
    };
  });
}
async function relockAfterQuickRemoval(record) {
  const adminDir = await worktreeAdminDir(record.path);
  if (!adminDir || !existsSync6(adminDir))
    return;
  const reason2 = ownLockReason(record.owner, { createdBranch: !record.reusedBranch });
  await writeFile2(join16(adminDir, "locked"), reason2, { flag: "wx" }).catch(() => {
  });
}

// dist/manager/remove-worktree.js
async function removeWorktree(ctx, id, options = {}) {
  assertWorktreeId(id);
  const record = (await ctx.registry.read()).find((r) => r.id === id);
  if (!record)
    throw new MiyabiError("NOT_FOUND", `no worktree with id '${id}'`, { details: { id } });
  refuseIfBeingRemoved(record);
  const reread = record.removal?.unverified === true && await linkedToGit(record.path);
  if (reread)
    await relockAfterQuickRemoval(record);
  const takeover = reread ? void 0 : record.removal;
  const force = options.force ?? false;
  const deleteBranch = options.deleteBranch ?? true;
  const started = performance.now();
  const eventBase = {
    worktreeId: id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    ...options.batchId ? { batchId: options.batchId } : {}
  };
  ctx.telemetry.record({ type: "cleanup-start", ...eventBase });
  try {
    const lock = await readEntryLock(ctx, record);
    refuseForeign(ctx, record, lock);
    refuseLocked(record, lock, force);
    const stoppedProcesses = await stopTaskProcesses(id);
    if (stoppedProcesses.length > 0) {
      safeLog(ctx.logger, "warn", { worktreeId: id, pids: stoppedProcesses }, "stopped processes of a task still running in the worktree");
    }
    if (!force && !record.removal) {
      const quick = await quickRemoval(ctx, record, { deleteBranch, signal: options.signal });
      if (quick) {
        releaseSlot(ctx, id);
        ctx.telemetry.record({
          type: "cleanup-complete",
          ...eventBase,
          durationMs: Math.round(performance.now() - started),
          archived: quick.archived !== null,
          branchDeleted: quick.result.branchDeleted
        });
        return {
          ...quick.result,
          forced: false,
          ...stoppedProcesses.length > 0 ? { stoppedProcesses: [...stoppedProcesses] } : {}
        };
      }
    }
    const assessment = takeover ? await assessBranch(ctx, record, options.signal) : await assess(ctx, record, { snapshot: !force, signal: options.signal });
    if (!force && !takeover)
      refuseUnarchivable(record, assessment);
    const token = randomUUID2();
    const archived = await ctx.lock.run(async () => {
      const current = (await ctx.registry.read()).find((r) => r.id === id);
      if (!current)
        throw new MiyabiError("NOT_FOUND", `worktree ${id} was removed meanwhile`, { details: { id } });
      refuseIfBeingRemoved(current);
      const saved = current.removal && !current.removal.unverified ? current.removal.archived : await archive(ctx, record, assessment, { commitsOnly: force });
      const claim = {
        owner: currentOwner(),
        token,
        startedAt: (/* @__PURE__ */ new Date()).toISOString(),
        archived: saved
      };
      await setClaim(ctx, id, () => claim);
      return saved;
    });
    const result = await finishRemoval(ctx, record, assessment, {
      deleteBranch,
      force,
      archived,
      stoppedProcesses
    }).catch(async (error) => {
      await ctx.lock.run(() => setClaim(ctx, id, (claim) => claim?.token === token ? { ...claim, failed: String(error) } : claim)).catch(() => {
      });
      throw error;
    });
    releaseSlot(ctx, id);
    ctx.telemetry.record({
      type: "cleanup-complete",
      ...eventBase,
      durationMs: Math.round(performance.now() - started),
      archived: archived !== null,
      branchDeleted: result.branchDeleted
    });
    return result;
  } catch (error) {
    throw recordFailure(ctx, "cleanup", eventBase, started, error);
  }
}
async function finishRemoval(ctx, record, assessment, options) {
  const { deleteBranch, force, archived, stoppedProcesses } = options;
  await deleteTrackedFilesOutsideLock(record);
  return ctx.lock.run(async () => {
    await runGit(["worktree", "remove", "--force", "--force", record.path], {
      cwd: ctx.repo.root
    }).catch(async (error) => {
      if (!/is not a working tree/.test(gitStderr(error)))
        throw error;
    });
    await rm6(record.path, { recursive: true, force: true });
    const branch = await settleBranch(ctx, record, assessment, { deleteBranch });
    await ctx.registry.mutate((records) => records.filter((r) => r.id !== record.id));
    return {
      id: record.id,
      path: record.path,
      branchName: record.branchName,
      worktreeRemoved: !existsSync7(record.path),
      ...branch,
      archived,
      forced: force,
      ...stoppedProcesses.length > 0 ? { stoppedProcesses: [...stoppedProcesses] } : {}
    };
  });
}

// dist/state/stale-git-locks.js
import { readdir as readdir5, readFile as readFile8, readlink, rm as rm7, stat as stat5 } from "node:fs/promises";
import { join as join17, sep } from "node:path";
var SHARED_LOCKS = ["config.lock", "packed-refs.lock", "HEAD.lock", "index.lock", "shallow.lock"];
async function reclaimStaleGitLocks(commonDir, options) {
  const minAgeMs = options.minAgeMs ?? 5e3;
  const candidates = [
    ...SHARED_LOCKS.map((name) => join17(commonDir, name)),
    ...await lockFilesUnder(join17(commonDir, "refs")),
    ...await adminLockFiles(join17(commonDir, "worktrees"))
  ];
  const found = [];
  for (const path of candidates) {
    const info = await stat5(path).catch(() => void 0);
    if (info?.isFile() && Date.now() - info.mtimeMs >= minAgeMs)
      found.push(path);
  }
  if (found.length === 0)
    return [];
  const busy = await gitProcessIn(options.repoFolders);
  return Promise.all(found.map(async (path) => {
    if (busy === void 0) {
      const reason3 = "cannot tell whether a git process holds it; delete it by hand if none runs";
      return { path, action: "kept", reason: reason3 };
    }
    if (busy !== null)
      return { path, action: "kept", reason: `git process ${busy} runs in this repository` };
    const reason2 = "left by a git process that is gone";
    if (options.dryRun)
      return { path, action: "would-remove", reason: reason2 };
    await rm7(path, { force: true });
    return { path, action: "removed", reason: reason2 };
  }));
}
async function lockFilesUnder(dir) {
  const entries = await readdir5(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith(".lock")).map((entry) => join17(entry.parentPath, entry.name));
}
async function adminLockFiles(dir) {
  const names = await readdir5(dir).catch(() => []);
  const nested = await Promise.all(names.map(async (name) => {
    const files = await readdir5(join17(dir, name)).catch(() => []);
    return files.filter((file) => file.endsWith(".lock")).map((file) => join17(dir, name, file));
  }));
  return nested.flat();
}
async function gitProcessIn(folders) {
  const pids = await readdir5("/proc").catch(() => void 0);
  if (pids === void 0)
    return void 0;
  for (const pid of pids) {
    if (!/^\d+$/.test(pid))
      continue;
    const comm = await readFile8(`/proc/${pid}/comm`, "utf8").catch(() => "");
    if (!comm.startsWith("git"))
      continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => void 0);
    if (cwd === void 0)
      continue;
    if (folders.some((folder) => cwd === folder || cwd.startsWith(`${folder}${sep}`)))
      return Number(pid);
  }
  return null;
}

// dist/manager/stale-locks.js
async function reclaimStaleLocks(ctx, options) {
  const worktrees = options.worktrees ?? await listGitWorktrees(ctx.repo.root).catch(() => []);
  const repoFolders = [ctx.repo.root, ctx.repo.commonDir, ...worktrees.map((entry) => entry.path)];
  const locks = await reclaimStaleGitLocks(ctx.repo.commonDir, { repoFolders, dryRun: options.dryRun });
  for (const lock of locks)
    safeLog(ctx.logger, "warn", { ...lock }, "stale git lock file");
  return locks;
}

// dist/manager/cleanup-all.js
async function cleanupAll(ctx, options = {}) {
  const dryRun = options.dryRun ?? false;
  const { live: live2, vanished, foreign, git } = await readWorktrees(ctx, options.signal);
  warnForeign(ctx, foreign);
  const removed = [];
  const skipped = [];
  const failed = [];
  const fail2 = (target, error) => (
    // Another live process is removing it: left to that process, as an active one is.
    isBeingRemovedError(error) ? skipped.push({ id: target.id, path: target.path, reason: error.message }) : failed.push({
      id: target.id,
      path: target.path,
      reason: isMiyabiError(error) ? `${error.code}: ${error.message}` : String(error),
      ...isMiyabiError(error) ? { code: error.code } : {}
    })
  );
  const gone = !dryRun && vanished.length > 0 ? await reconcileVanished(ctx, vanished) : vanished;
  const reconciled = gone.map(({ record, reason: reason2 }) => ({ id: record.id, path: record.path, reason: reason2 }));
  for (const record of live2) {
    options.signal?.throwIfAborted();
    if (record.status === "active" && record.owner.pid !== process.pid && isOwnerAlive(record.owner)) {
      skipped.push({
        id: record.id,
        path: record.path,
        reason: `active in live process ${record.owner.pid}`
      });
      continue;
    }
    try {
      removed.push(dryRun ? await planRemoval(ctx, record) : await removeWorktree(ctx, record.id, {}));
    } catch (error) {
      fail2(record, error);
    }
  }
  const known = new Set([...live2, ...[...vanished, ...foreign].map((v) => v.record)].map((r) => r.path));
  const orphans = git.filter((entry) => !entry.isMain && entry.path.startsWith(`${ctx.worktreeDir}/`) && WORKTREE_ID_FORMAT.test(entry.path.slice(ctx.worktreeDir.length + 1)) && !known.has(entry.path));
  for (const entry of orphans) {
    options.signal?.throwIfAborted();
    if (interruptedAdd(entry)) {
      if (dryRun || await reclaimInterruptedAdd(ctx, entry.path)) {
        reconciled.push({ id: basename2(entry.path), path: entry.path, reason: INTERRUPTED_ADD_REASON });
      }
      continue;
    }
    if (ownLockOwner(entry.locked) === void 0)
      continue;
    const adopted = await adoptOrphan(ctx, entry, dryRun);
    if (adopted === "recorded")
      continue;
    if (typeof adopted === "string") {
      skipped.push({ id: basename2(entry.path), path: entry.path, reason: adopted });
      continue;
    }
    try {
      const result = dryRun ? await planRemoval(ctx, adopted, { deleteBranch: !adopted.reusedBranch }) : await removeWorktree(ctx, adopted.id, { deleteBranch: !adopted.reusedBranch });
      removed.push(result.branchDeleted || !adopted.reusedBranch ? result : { ...result, branchKeptReason: ORPHAN_BRANCH_KEPT });
    } catch (error) {
      fail2(adopted, error);
    }
  }
  if (!dryRun)
    await removeEmptyStrays(ctx);
  const findLocks = () => reclaimStaleLocks(ctx, { dryRun, worktrees: git });
  const staleLocks = dryRun ? await findLocks() : await ctx.lock.run(findLocks);
  const notOurs = foreign.map(({ record, reason: reason2 }) => ({ id: record.id, path: record.path, reason: reason2 }));
  return { dryRun, removed, skipped, failed, foreign: notOurs, reconciled, staleLocks };
}
var ORPHAN_BRANCH_KEPT = "the worktree had no registry record, so its branch may not be ours to delete";
var INTERRUPTED_ADD_LOCK = "initializing";
function interruptedAdd(entry) {
  if (entry.locked === INTERRUPTED_ADD_LOCK)
    return true;
  const creator = ownLockOwner(entry.locked);
  const headWritten = entry.head !== void 0 && !/^0+$/.test(entry.head);
  return creator !== void 0 && !headWritten && (creator.pid === process.pid || !isOwnerAlive(creator));
}
var INTERRUPTED_ADD_REASON = "left by a create killed inside git worktree add (no registry record)";
async function reclaimInterruptedAdd(ctx, path) {
  return ctx.lock.run(async () => {
    if ((await ctx.registry.read()).some((record) => record.path === path))
      return false;
    await runGit(["worktree", "remove", "--force", "--force", path], { cwd: ctx.repo.root }).catch((error) => safeLog(ctx.logger, "warn", { path, err: String(error) }, "could not reclaim an interrupted create"));
    return true;
  });
}
async function adoptOrphan(ctx, entry, dryRun) {
  const adopt = async () => {
    if ((await ctx.registry.read()).some((record2) => record2.path === entry.path))
      return "recorded";
    const creator = ownLockOwner(entry.locked);
    if (creator && creator.pid !== process.pid && isOwnerAlive(creator)) {
      return `not in the registry, but process ${creator.pid} that created it is still running`;
    }
    if (!entry.branch?.startsWith("refs/heads/")) {
      return "not in the registry and not on a branch: left for you to inspect";
    }
    const id = basename2(entry.path);
    const now = (/* @__PURE__ */ new Date()).toISOString();
    const record = {
      id,
      issueNumber: issueOfWorktreeId(id) ?? 0,
      path: entry.path,
      branchName: entry.branch.slice("refs/heads/".length),
      baseBranch: ctx.defaultBase.name,
      baseCommit: ctx.defaultBase.commit,
      // Ours only when our lock says `worktree add -b` created it; else it may be the user's.
      reusedBranch: !ownLockCreatedBranch(entry.locked),
      createdAt: now,
      worktreeDir: ctx.worktreeDir,
      status: "failed",
      updatedAt: now,
      // Its creator (dead, checked above): removal then stops any git it left running there.
      owner: creator ?? currentOwner()
    };
    if (!dryRun)
      await ctx.registry.mutate((records) => [...records, record]);
    return record;
  };
  return dryRun ? adopt() : ctx.lock.run(adopt);
}
async function removeEmptyStrays(ctx) {
  const names = await readdir6(ctx.worktreeDir).catch(() => []);
  for (const name of names) {
    if (!WORKTREE_ID_FORMAT.test(name))
      continue;
    const path = join18(ctx.worktreeDir, name);
    const inside = await readdir6(path).catch(() => null);
    if (inside && inside.length === 0)
      await rmdir(path).catch(() => {
      });
  }
}

// dist/manager/create-worktree.js
import { mkdir as mkdir6, readFile as readFile10, rm as rm8, rmdir as rmdir2 } from "node:fs/promises";
import { basename as basename3, dirname as dirname5, join as join20 } from "node:path";

// dist/state/info-exclude.js
import { appendFile, mkdir as mkdir5, readFile as readFile9 } from "node:fs/promises";
import { dirname as dirname4, isAbsolute as isAbsolute2, join as join19, relative as relative2, sep as sep2 } from "node:path";
async function ensureExcluded(root, commonDir, worktreeDir) {
  const rel = relativeInside(root, worktreeDir);
  if (rel === void 0)
    return null;
  const line = excludeLine(rel);
  const file = join19(commonDir, "info", "exclude");
  const current = await readFile9(file, "utf8").catch(() => "");
  const lines = current.split(/\r?\n/).map((l) => l.trim());
  if (lines.includes(line) || lines.includes(line.slice(0, -1)) || lines.includes(line.slice(1)))
    return null;
  await mkdir5(dirname4(file), { recursive: true });
  const prefix = current === "" || current.endsWith("\n") ? "" : "\n";
  await appendFile(file, `${prefix}# miyabi-worktree worktrees
${line}
`);
  return line;
}
async function ensureExcludedLinks(commonDir, paths) {
  const file = join19(commonDir, "info", "exclude");
  const current = await readFile9(file, "utf8").catch(() => "");
  const lines = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = paths.map((path) => `/${path}`).filter((line) => !lines.has(line));
  if (missing.length === 0)
    return;
  await mkdir5(dirname4(file), { recursive: true });
  const prefix = current === "" || current.endsWith("\n") ? "" : "\n";
  await appendFile(file, `${prefix}# miyabi-worktree shared links
${missing.join("\n")}
`);
}
function relativeInside(root, worktreeDir) {
  const rel = relative2(root, worktreeDir);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep2}`) || isAbsolute2(rel))
    return void 0;
  return rel.split(sep2).join("/");
}
var GITIGNORE_SPECIAL = /[*?[\]\\!#]/g;
function excludeLine(rel) {
  assertNoControlCharacters(rel, "worktreeDir");
  const escaped = rel.replace(GITIGNORE_SPECIAL, (c) => `\\${c}`).replace(/ /g, "\\ ");
  return `/${escaped}/`;
}
function assertNoControlCharacters(value, name) {
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new MiyabiError("INVALID_ARGUMENT", `${name} ${JSON.stringify(value)} contains a control character`, {
      hint: `Choose a ${name} without newlines, tabs or other control characters.`,
      details: { [name]: value }
    });
  }
}

// dist/manager/port-blocks.js
import { createServer } from "node:net";
async function allocatePorts(ctx, records) {
  const config = ctx.config.config.ports;
  if (!config)
    return void 0;
  const held = new Set(records.flatMap((record) => record.ports ?? []));
  for (let first = config.base; first + config.count - 1 <= 65535; first += config.count) {
    const block = Array.from({ length: config.count }, (_, index) => first + index);
    if (block.some((port) => held.has(port)))
      continue;
    if (await allBindable(block))
      return block;
  }
  throw new MiyabiError("PORTS_EXHAUSTED", `no block of ${config.count} free ports from ${config.base} up to 65535 for a new worktree`, {
    hint: "Remove worktrees you no longer need (cleanup), or lower ports.count / move ports.base in the configuration.",
    details: { base: config.base, count: config.count, heldByWorktrees: held.size }
  });
}
async function allBindable(block) {
  for (const port of block) {
    if (!await bindable(port))
      return false;
  }
  return true;
}
function bindable(port) {
  return new Promise((resolve7) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve7(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      server.close(() => resolve7(true));
    });
  });
}

// dist/manager/reuse-worktree.js
import { randomUUID as randomUUID3 } from "node:crypto";
import { existsSync as existsSync8 } from "node:fs";
async function idleWorktree(ctx, id, options = {}) {
  assertWorktreeId(id);
  const record = (await ctx.registry.read()).find((r) => r.id === id);
  if (!record)
    throw new MiyabiError("NOT_FOUND", `no worktree with id '${id}'`, { details: { id } });
  const { signal } = options;
  const maxIdle = options.maxIdle ?? ctx.config.config.maxIdle ?? ctx.slots.capacity;
  const removeInstead = async () => {
    const removed = await removeWorktree(ctx, id, {
      ...signal ? { signal } : {},
      ...options.batchId !== void 0 ? { batchId: options.batchId } : {}
    });
    return {
      idle: null,
      removed,
      archived: removed.archived,
      branchDeleted: removed.branchDeleted,
      ...removed.branchKeptReason !== void 0 ? { branchKeptReason: removed.branchKeptReason } : {}
    };
  };
  if (!record.slot || record.status === "idle" || maxIdle === 0)
    return removeInstead();
  refuseIfBeingRemoved(record);
  const keepPaths = options.keepPaths ?? ctx.config.config.keepPaths;
  const started = performance.now();
  const eventBase = {
    worktreeId: id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    ...options.batchId ? { batchId: options.batchId } : {}
  };
  const lock = await readEntryLock(ctx, record);
  refuseForeign(ctx, record, lock);
  refuseLocked(record, lock, false);
  await stopTaskProcesses(id);
  const assessment = await assess(ctx, record, { snapshot: true, signal });
  refuseUnarchivable(record, assessment);
  const token = randomUUID3();
  const decision = await ctx.lock.run(async () => {
    const records = await ctx.registry.read();
    const current = records.find((r) => r.id === id);
    if (!current)
      throw new MiyabiError("NOT_FOUND", `worktree ${id} was removed meanwhile`, { details: { id } });
    refuseIfBeingRemoved(current);
    const idleCount = records.filter((r) => r.status === "idle" && r.id !== id).length;
    if (idleCount >= maxIdle)
      return "full";
    const archived2 = await archive(ctx, record, assessment);
    const claim = {
      owner: currentOwner(),
      token,
      startedAt: (/* @__PURE__ */ new Date()).toISOString(),
      archived: archived2
    };
    await ctx.registry.mutate((all) => all.map((r) => r.id === id ? { ...r, status: "idle", updatedAt: claim.startedAt, removal: claim } : r));
    return { archived: archived2 };
  });
  if (decision === "full")
    return removeInstead();
  const { archived } = decision;
  releaseSlot(ctx, id);
  ctx.telemetry.record({ type: "cleanup-start", ...eventBase });
  try {
    await runGit(["checkout", "--quiet", "--force", "--detach", record.baseCommit], {
      cwd: record.path,
      signal,
      env: { [WORKTREE_ID_VAR]: id }
    });
    await cleanWorktree(record.path, keepPaths, signal);
    const idle = await ctx.lock.run(async () => {
      const branch = await settleBranch(ctx, record, assessment, { deleteBranch: true });
      const now = (/* @__PURE__ */ new Date()).toISOString();
      const slot = record.slot;
      const next = {
        id: slot,
        issueNumber: 0,
        path: record.path,
        branchName: "",
        baseBranch: record.baseBranch,
        baseCommit: record.baseCommit,
        reusedBranch: false,
        createdAt: now,
        status: "idle",
        updatedAt: now,
        owner: currentOwner(),
        ...record.worktreeDir !== void 0 ? { worktreeDir: record.worktreeDir } : {},
        slot,
        ...record.reuses !== void 0 ? { reuses: record.reuses } : {},
        ...record.ports ? { ports: record.ports } : {}
      };
      await ctx.registry.mutate((all) => [...all.filter((r) => r.id !== id && r.id !== slot), next]);
      return { next, branch };
    });
    ctx.telemetry.record({
      type: "cleanup-complete",
      ...eventBase,
      durationMs: Math.round(performance.now() - started),
      archived: archived !== null,
      branchDeleted: idle.branch.branchDeleted
    });
    return { idle: idle.next, removed: null, archived, ...idle.branch };
  } catch (error) {
    await ctx.lock.run(() => setClaim(ctx, id, (claim) => claim?.token === token ? { ...claim, failed: String(error) } : claim)).catch(() => {
    });
    throw recordFailure(ctx, "cleanup", eventBase, started, error);
  }
}
async function claimIdleWorktree(ctx, plan) {
  for (; ; ) {
    plan.signal?.throwIfAborted();
    const candidate = (await ctx.registry.read()).find(isClaimable);
    if (!candidate)
      return void 0;
    if (!await isPristine(candidate, plan.signal)) {
      safeLog(ctx.logger, "warn", { worktreeId: candidate.id, path: candidate.path }, "idle worktree changed or vanished while idle: archived and removed instead of reused");
      await removeWorktree(ctx, candidate.id, {}).catch((error) => {
        safeLog(ctx.logger, "warn", { worktreeId: candidate.id, err: String(error) }, "could not remove it");
      });
      continue;
    }
    const branchExists = (await runGit(["rev-parse", "--verify", "--quiet", `refs/heads/${plan.branchName}`], {
      cwd: ctx.repo.root,
      okExitCodes: [0, 1]
    })).exitCode === 0;
    const now = (/* @__PURE__ */ new Date()).toISOString();
    const info = {
      id: plan.id,
      issueNumber: plan.issueNumber,
      path: candidate.path,
      branchName: plan.branchName,
      baseBranch: plan.base.name,
      baseCommit: plan.base.commit,
      reusedBranch: branchExists,
      createdAt: now,
      status: "active",
      updatedAt: now,
      owner: currentOwner(),
      ...candidate.worktreeDir !== void 0 ? { worktreeDir: candidate.worktreeDir } : {},
      ...candidate.slot !== void 0 ? { slot: candidate.slot } : {},
      reuses: (candidate.reuses ?? 0) + 1,
      ...candidate.ports ? { ports: candidate.ports } : {}
    };
    const claimed = await ctx.lock.run(async () => {
      const records = await ctx.registry.read();
      const current = records.find((r) => r.id === candidate.id);
      if (!current || !isClaimable(current))
        return void 0;
      const ports = info.ports ?? await allocatePorts(ctx, records);
      const staleBranch = branchExists ? await plan.inspectExistingBranch() : void 0;
      const taken = {
        ...info,
        ...ports ? { ports } : {},
        ...staleBranch ? { staleBranch } : {}
      };
      await ctx.registry.mutate((all) => all.map((r) => r.id === candidate.id && isClaimable(r) ? taken : r));
      return taken;
    });
    if (!claimed)
      continue;
    try {
      await switchToTask(claimed, plan, branchExists);
      return claimed;
    } catch (error) {
      await removeWorktree(ctx, info.id, { deleteBranch: !branchExists }).catch(() => {
      });
      if (/is already (checked out|used by worktree)|already checked out at/i.test(gitStderr(error))) {
        throw new MiyabiError("BRANCH_IN_USE", `branch '${plan.branchName}' is already checked out in another worktree`, { cause: error, details: { branchName: plan.branchName } });
      }
      throw error;
    }
  }
}
function isClaimable(record) {
  return record.status === "idle" && record.slot !== void 0 && record.id === record.slot && !record.removal;
}
async function isPristine(record, signal) {
  if (!existsSync8(record.path))
    return false;
  const state = await readWorktreeState(record.path, signal).catch(() => void 0);
  return state !== void 0 && state.branch === void 0 && state.head === record.baseCommit && state.uncommittedPaths.length === 0;
}
async function switchToTask(info, plan, branchExists) {
  const env = { [WORKTREE_ID_VAR]: info.id, GIT_LFS_SKIP_SMUDGE: "1" };
  const args = branchExists ? ["checkout", "--quiet", "--force", info.branchName] : ["checkout", "--quiet", "--force", "--no-track", "-b", info.branchName, info.baseCommit];
  await runGit(args, { cwd: info.path, signal: plan.signal, env, timeoutMs: 30 * 6e4 });
  await cleanWorktree(info.path, plan.keepPaths, plan.signal);
}
async function cleanWorktree(path, keepPaths, signal) {
  const keep = keepPaths.flatMap((keepPath) => ["-e", `/${keepPath}`]);
  await runGit(["clean", "-ffdxq", ...keep], { cwd: path, signal, timeoutMs: 30 * 6e4 });
}

// dist/manager/create-worktree.js
var MAX_ATTEMPTS = 4;
function announceSlotWait(ctx, id, issueNumber, batchId) {
  const heldBy = [...ctx.heldSlots.keys()];
  ctx.telemetry.record({
    type: "slot-wait",
    worktreeId: id,
    issueNumber,
    heldBy,
    ...batchId !== void 0 ? { batchId } : {}
  });
  safeLog(ctx.logger, "warn", { worktreeId: id, issueNumber, maxConcurrency: ctx.slots.capacity, heldBy }, `create waits for a free slot: ${ctx.slots.capacity} active worktree(s) held (${heldBy.join(", ") || "creates in flight"}); one must leave 'active' (updateStatus, removeWorktree) first`);
}
async function createWorktree(ctx, issueNumber, options = {}) {
  assertIssueNumber(issueNumber);
  const { signal } = options;
  const branchName = options.branchName ?? expandBranchPattern(ctx.branchPattern, issueNumber);
  if (options.branchName !== void 0)
    await assertValidBranchName(options.branchName, "branchName", ctx.repo.root);
  const base2 = options.baseBranch === void 0 ? ctx.defaultBase : await resolveBaseBranch(ctx.repo.root, options.baseBranch);
  const id = newWorktreeId(issueNumber);
  if (ctx.slots.available === 0)
    announceSlotWait(ctx, id, issueNumber, options.batchId);
  const release = await ctx.slots.acquire(signal);
  const slot = options.reuse ? newSlotName() : void 0;
  const path = join20(ctx.worktreeDir, slot ?? id);
  const started = performance.now();
  const eventBase = {
    worktreeId: id,
    issueNumber,
    branch: branchName,
    ...options.batchId ? { batchId: options.batchId } : {}
  };
  ctx.telemetry.record({ type: "create-start", ...eventBase });
  let registered;
  try {
    signal?.throwIfAborted();
    if (options.reuse) {
      const keepPaths = options.keepPaths ?? ctx.config.config.keepPaths;
      const claimed = await claimIdleWorktree(ctx, {
        id,
        issueNumber,
        branchName,
        base: base2,
        keepPaths,
        signal,
        // The same policy as a fresh create for a branch an earlier run left (under the lock).
        inspectExistingBranch: () => inspectExistingBranch(ctx, {
          issueNumber,
          branchName,
          base: base2,
          restartStale: options.existingBranch === "restart"
        })
      });
      if (claimed) {
        ctx.heldSlots.set(id, release);
        ctx.telemetry.record({
          type: "create-complete",
          ...eventBase,
          path: claimed.path,
          durationMs: Math.round(performance.now() - started)
        });
        return claimed;
      }
    }
    let info;
    const checkoutInLock = await isSmallPlainTree(ctx);
    ({ info, registered } = await ctx.lock.run(() => addWorktree(ctx, {
      checkoutInLock,
      id,
      path,
      issueNumber,
      branchName,
      base: base2,
      restartStale: options.existingBranch === "restart",
      ...slot ? { slot } : {}
    })));
    if (!checkoutInLock) {
      await runGit(["reset", "--hard", "--quiet"], {
        cwd: path,
        signal,
        timeoutMs: 30 * 6e4,
        env: { [WORKTREE_ID_VAR]: id }
      });
    }
    signal?.throwIfAborted();
    ctx.heldSlots.set(id, release);
    ctx.telemetry.record({
      type: "create-complete",
      ...eventBase,
      path,
      durationMs: Math.round(performance.now() - started)
    });
    return info;
  } catch (caught) {
    const error = await explainDiskFull(caught, ctx.worktreeDir);
    release();
    releaseSlot(ctx, id);
    if (registered) {
      await rollback(ctx, { id, path, branchName, createdAt: registered.createdBranch ? base2.commit : null });
    }
    const failure2 = signal?.aborted && !(error instanceof MiyabiError && error.code === "CANCELLED") ? new MiyabiError("CANCELLED", `creating the worktree for issue ${issueNumber} was aborted`, {
      cause: signal.reason,
      hint: "Nothing was left behind."
    }) : toError(error);
    ctx.telemetry.record({
      type: "error",
      ...eventBase,
      operation: "create",
      message: failure2.message,
      ...failure2 instanceof MiyabiError ? { code: failure2.code } : {},
      durationMs: Math.round(performance.now() - started)
    });
    throw failure2;
  }
}
async function isSmallPlainTree(ctx) {
  const files = await readIndexHeaderCount(join20(ctx.repo.commonDir, "index"));
  if (files === void 0 || files >= SMALL_TREE_FILES)
    return false;
  const attributes = await readFile10(join20(ctx.repo.root, ".gitattributes"), "utf8").catch(() => "");
  return !attributes.includes("filter=lfs");
}
async function addWorktree(ctx, plan) {
  const { root } = ctx.repo;
  const createdDir = await mkdir6(ctx.worktreeDir, { recursive: true });
  const undo = async (branchWasNew) => {
    await undoFailedAdd(ctx, plan, branchWasNew);
    if (createdDir)
      await removeEmptyFolders(ctx.worktreeDir, createdDir);
  };
  let reusedBranch = false;
  let staleBranch;
  const owner = currentOwner();
  const add = (createdBranch) => [
    ...plan.checkoutInLock ? ["-c", "core.hooksPath=/dev/null", "worktree", "add"] : ["worktree", "add"],
    ...plan.checkoutInLock ? [] : ["--no-checkout"],
    ...["--quiet", "--lock"],
    ...["--reason", ownLockReason(owner, { createdBranch })]
  ];
  for (let attempt = 1; ; attempt++) {
    const args = reusedBranch ? [...add(false), plan.path, plan.branchName] : [...add(true), "--no-track", "-b", plan.branchName, plan.path, plan.base.ref];
    try {
      await runGit(args, {
        cwd: root,
        env: { GIT_LFS_SKIP_SMUDGE: "1", [WORKTREE_ID_VAR]: plan.id },
        ...plan.checkoutInLock ? { timeoutMs: 30 * 6e4 } : {}
      });
      break;
    } catch (error) {
      if (!reusedBranch && /a branch named .* already exists/i.test(gitStderr(error))) {
        reusedBranch = true;
        staleBranch = await inspectExistingBranch(ctx, plan);
        continue;
      }
      await undo(!reusedBranch);
      if (isBranchInUse(error))
        throw await branchInUse(ctx, plan.branchName, error);
      if (!isTransientGitError(error) || attempt >= MAX_ATTEMPTS)
        throw error;
      if (attempt === 2 && lockFileInTheWay(gitStderr(error)))
        await reclaimStaleLocks(ctx, { dryRun: false });
      await new Promise((resolve7) => setTimeout(resolve7, 25 * 2 ** attempt + Math.random() * 25));
    }
  }
  const now = (/* @__PURE__ */ new Date()).toISOString();
  let info = {
    id: plan.id,
    issueNumber: plan.issueNumber,
    path: plan.path,
    branchName: plan.branchName,
    baseBranch: plan.base.name,
    baseCommit: plan.base.commit,
    reusedBranch,
    ...staleBranch ? { staleBranch } : {},
    createdAt: now,
    worktreeDir: ctx.worktreeDir,
    ...plan.slot ? { slot: plan.slot } : {},
    updatedAt: now,
    status: "active",
    owner
  };
  try {
    if (!ctx.excludeChecked) {
      await ensureExcluded(root, ctx.repo.commonDir, ctx.worktreeDir);
      ctx.excludeChecked = true;
    }
    const ports = await allocatePorts(ctx, await ctx.registry.read());
    if (ports)
      info = { ...info, ports };
    await ctx.registry.mutate((records) => [...records.filter((r) => r.id !== info.id), info]);
  } catch (error) {
    await undo(!reusedBranch);
    throw error;
  }
  return { info, registered: { createdBranch: !reusedBranch } };
}
async function inspectExistingBranch(ctx, plan) {
  const { root } = ctx.repo;
  const ref = `refs/heads/${plan.branchName}`;
  const tip = (await runGit(["rev-parse", "--verify", `${ref}^{commit}`], { cwd: root })).stdout.trim();
  const counted = await runGit(["rev-list", "--count", tip, "--not", plan.base.commit], { cwd: root });
  const unmergedCommits = Number(counted.stdout.trim());
  if (unmergedCommits === 0)
    return void 0;
  if (!plan.restartStale)
    return { unmergedCommits };
  const inUse = (await listGitWorktrees(root)).some((entry) => entry.branch === ref);
  if (inUse)
    return { unmergedCommits };
  const archive2 = await writeArchive(root, `${tip}^{tree}`, {
    id: newWorktreeId(plan.issueNumber),
    issueNumber: plan.issueNumber,
    branchName: plan.branchName,
    baseBranch: plan.base.name,
    head: tip,
    uncommittedPaths: [],
    unmergedCommits,
    archivedAt: (/* @__PURE__ */ new Date()).toISOString()
  });
  await runGit(["update-ref", "-m", "miyabi-worktree: restart stale branch", ref, plan.base.commit, tip], {
    cwd: root
  });
  safeLog(ctx.logger, "info", { branch: plan.branchName, unmergedCommits, archiveRef: archive2.ref }, "existing branch archived and restarted from the base");
  return { unmergedCommits, archiveRef: archive2.ref };
}
async function branchInUse(ctx, branchName, cause) {
  const entries = await listGitWorktrees(ctx.repo.root).catch(() => []);
  const holder = entries.find((entry) => entry.branch === `refs/heads/${branchName}`);
  const path = holder?.path ?? /already checked out at '([^']+)'/.exec(gitStderr(cause))?.[1];
  const ours = path !== void 0 && dirname5(path) === ctx.worktreeDir;
  const id = ours ? basename3(path) : void 0;
  const where = path === void 0 ? "another worktree" : holder?.isMain ? `the main worktree (${path})` : id ? `worktree ${id} (${path})` : `a worktree not created by miyabi-worktree (${path})`;
  return new MiyabiError("BRANCH_IN_USE", `branch '${branchName}' is already checked out in ${where}`, {
    cause,
    hint: id ? `Remove that worktree first (miyabi-worktree remove ${id}), or pick another branch.` : "Switch that checkout to another branch, or pick another branch name.",
    details: { branchName, ...path ? { worktreePath: path } : {}, ...id ? { worktreeId: id } : {} }
  });
}
function isBranchInUse(error) {
  return /is already (checked out|used by worktree)|already checked out at/i.test(gitStderr(error));
}
async function undoFailedAdd(ctx, plan, branchWasNew) {
  const { root } = ctx.repo;
  await runGit(["worktree", "remove", "--force", "--force", plan.path], { cwd: root }).catch(() => {
  });
  await rm8(plan.path, { recursive: true, force: true }).catch(() => {
  });
  if (branchWasNew)
    await deleteBranchIfAt(root, plan.branchName, plan.base.commit);
}
async function removeEmptyFolders(dir, top) {
  for (let current = dir; ; current = dirname5(current)) {
    if (!await rmdir2(current).then(() => true, () => false))
      return;
    if (current === top || dirname5(current) === current)
      return;
  }
}
async function deleteBranchIfAt(root, branchName, commit) {
  await runGit(["update-ref", "-d", `refs/heads/${branchName}`, commit], { cwd: root }).catch(() => {
  });
}
async function rollback(ctx, target) {
  try {
    await ctx.lock.run(async () => {
      const { root } = ctx.repo;
      await runGit(["worktree", "remove", "--force", "--force", target.path], { cwd: root }).catch(() => {
      });
      await rm8(target.path, { recursive: true, force: true });
      if (target.createdAt)
        await deleteBranchIfAt(root, target.branchName, target.createdAt);
      await ctx.registry.mutate((records) => records.filter((r) => r.id !== target.id));
    });
  } catch (error) {
    safeLog(ctx.logger, "error", { worktreeId: target.id, err: String(error) }, "rollback of a failed create failed");
  }
}

// dist/manager/merge-push.js
import { existsSync as existsSync10 } from "node:fs";

// dist/git/merge.js
import { existsSync as existsSync9 } from "node:fs";
var MAX_ATTEMPTS2 = 8;
var OID2 = /^[0-9a-f]{40,64}$/;
async function mergeBranch(options) {
  const strategy = options.strategy ?? "merge";
  if (!["merge", "squash", "ff-only"].includes(strategy)) {
    throw new MiyabiError("INVALID_ARGUMENT", `strategy must be merge, squash or ff-only, got ${String(strategy)}`);
  }
  if (options.source === options.into) {
    throw new MiyabiError("INVALID_ARGUMENT", `cannot merge branch '${options.source}' into itself`, {
      hint: "Pick another target with into."
    });
  }
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    const { target, source } = await readTips(options);
    const plan = await planMerge(options, strategy, target, source);
    if (plan.status === "up-to-date") {
      return {
        ...base(options, strategy),
        status: "up-to-date",
        commit: target,
        previousCommit: target,
        updatedCheckout: null,
        changedFiles: 0
      };
    }
    const counting = countChangedFiles(options.root, target, plan.commit).catch(() => 0);
    const moved = await options.withLock(() => moveTarget(options, target, plan.commit));
    if (moved.ok) {
      const changedFiles = await counting;
      return {
        ...base(options, strategy),
        status: plan.status,
        commit: plan.commit,
        previousCommit: target,
        updatedCheckout: moved.checkout,
        changedFiles
      };
    }
    if (attempt >= MAX_ATTEMPTS2) {
      throw new MiyabiError("LOCKED", `branch '${options.into}' kept moving; gave up after ${attempt} attempts`, {
        hint: "Something else is updating the branch continuously; try again later."
      });
    }
  }
}
function base(options, strategy) {
  return { into: options.into, source: options.source, strategy };
}
async function readTips(options) {
  const refs = [`refs/heads/${options.into}`, `refs/heads/${options.source}`];
  if (options.commonDir) {
    const [target2, source2] = await Promise.all(refs.map((ref) => readLooseRef(options.commonDir ?? "", ref)));
    if (target2 && source2)
      return { target: target2, source: source2 };
  }
  const { stdout } = await runGit(["for-each-ref", "--format=%(refname) %(objectname)", ...refs], {
    cwd: options.root
  });
  const tips = new Map(stdout.split("\n").filter(Boolean).map((line) => line.split(" ")));
  const target = tips.get(refs[0]);
  const source = tips.get(refs[1]);
  if (!target) {
    throw new MiyabiError("NOT_FOUND", `target branch '${options.into}' does not exist`, {
      hint: "Merge into an existing local branch (git branch lists them).",
      details: { into: options.into }
    });
  }
  if (!source) {
    throw new MiyabiError("NOT_FOUND", `branch '${options.source}' does not exist`, {
      details: { branch: options.source }
    });
  }
  return { target, source };
}
async function planMerge(options, strategy, target, source) {
  const { root } = options;
  const found = await runGit(["merge-base", target, source], { cwd: root, okExitCodes: [0, 1] });
  const mergeBase = found.exitCode === 0 ? found.stdout.trim() : void 0;
  if (mergeBase === source)
    return { status: "up-to-date" };
  const canFastForward = mergeBase === target;
  if (strategy === "ff-only" || strategy === "merge" && canFastForward) {
    if (!canFastForward) {
      throw new MiyabiError("INVALID_ARGUMENT", `'${options.into}' has moved on; '${options.source}' cannot be fast-forwarded`, {
        hint: `Rebase ${options.source} onto ${options.into}, or merge with strategy 'merge'.`
      });
    }
    return { status: "fast-forwarded", commit: source };
  }
  const tree = await mergedTree(options, target, source);
  const message = options.message ?? (strategy === "squash" ? `Squashed merge of branch '${options.source}' into ${options.into}` : `Merge branch '${options.source}' into ${options.into}`);
  const parents = strategy === "squash" ? ["-p", target] : ["-p", target, "-p", source];
  const { stdout } = await runGitAsUser(["commit-tree", tree, ...parents, "-F", "-"], {
    cwd: root,
    input: `${message}
`
  });
  return { status: "merged", commit: stdout.trim() };
}
async function mergedTree(options, target, source) {
  const result = await runGit(["merge-tree", "--write-tree", "--name-only", "--messages", "-z", target, source], {
    cwd: options.root,
    okExitCodes: [0, 1],
    signal: options.signal
  });
  const tokens = result.stdout.split("\0");
  const tree = tokens[0] ?? "";
  if (!OID2.test(tree)) {
    throw new MiyabiError("GIT_FAILED", `git merge-tree failed: ${result.stderr.trim() || "no result"}`);
  }
  if (result.exitCode === 0)
    return tree;
  throw new MiyabiError("MERGE_CONFLICT", `merging '${options.source}' into '${options.into}' conflicts`, {
    conflicts: parseConflicts(tokens.slice(1)),
    hint: `Merge ${options.into} into ${options.source} in its worktree, resolve, commit, then merge again. Nothing was changed.`,
    details: { branch: options.source, into: options.into }
  });
}
function parseConflicts(tokens) {
  const end = tokens.indexOf("");
  const paths = [...new Set(tokens.slice(0, end === -1 ? tokens.length : end))];
  const info = /* @__PURE__ */ new Map();
  let i = end + 1;
  while (end !== -1 && i < tokens.length) {
    const count = Number(tokens[i]);
    if (!Number.isInteger(count) || count < 0)
      break;
    const groupPaths = tokens.slice(i + 1, i + 1 + count);
    const type = tokens[i + 1 + count] ?? "";
    const message = (tokens[i + 2 + count] ?? "").trim();
    i += count + 3;
    const kind = /^CONFLICT \(([^)]+)\)/.exec(type)?.[1];
    if (!kind)
      continue;
    for (const path of groupPaths)
      if (!info.has(path))
        info.set(path, { type: kind, message });
  }
  return paths.map((path) => ({ path, ...info.get(path) }));
}
async function moveTarget(options, old, next) {
  const ref = `refs/heads/${options.into}`;
  const checkout = await findCheckout(options, ref);
  if (checkout && existsSync9(checkout)) {
    const { tip, indexLock, busy } = await inspectCheckout(checkout, ref);
    if (tip !== old)
      return { ok: false };
    refuseBusy(checkout, options.into, busy);
    await fastForwardCheckout(options, checkout, next, repairAdvice(checkout, options.into, old, next, indexLock));
    const { stdout: moved } = await runGit(["rev-parse", ref], { cwd: options.root });
    return moved.trim() === next ? { ok: true, checkout } : { ok: false };
  }
  try {
    await runGit(["update-ref", "-m", `miyabi-worktree: merge ${options.source}`, ref, next, old], {
      cwd: options.root
    });
  } catch (error) {
    if (/cannot lock ref|but expected/i.test(gitStderr(error)))
      return { ok: false };
    throw error;
  }
  return { ok: true, checkout: null };
}
async function findCheckout(options, ref) {
  if (options.commonDir)
    return findCheckoutOfBranch(options.root, options.commonDir, ref);
  const entry = (await listGitWorktrees(options.root)).find((e) => e.branch === ref && !e.bare);
  return entry?.path;
}
async function fastForwardCheckout(options, checkoutPath, next, repair) {
  const args = [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "gc.auto=0",
    "merge",
    "--ff-only",
    "--no-autostash",
    "--no-verify-signatures",
    "--no-stat",
    "--quiet",
    next
  ];
  try {
    await runGit(args, {
      cwd: checkoutPath,
      env: { GIT_REFLOG_ACTION: `miyabi-worktree: merge ${options.source}` },
      // The user's checkout: a forced exit lets this finish rather than leave it half-updated.
      protectedCheckout: { path: checkoutPath, repair }
    });
  } catch (error) {
    const stderr = gitStderr(error);
    if (/Not possible to fast-forward/i.test(stderr))
      return;
    if (/would be overwritten by merge|untracked working tree files would be/i.test(stderr)) {
      throw new MiyabiError("CHECKOUT_DIRTY", `the checkout of '${options.into}' at ${checkoutPath} has local changes the merge would overwrite`, {
        cause: error,
        hint: `Commit or stash them in ${checkoutPath}, then merge again. Nothing was changed.`,
        details: { checkout: checkoutPath, paths: pathsFromReadTree(stderr) }
      });
    }
    throw error;
  }
}
async function inspectCheckout(checkoutPath, ref) {
  const markers = ["MERGE_HEAD", "rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD", "REVERT_HEAD"];
  const { stdout } = await runGit([
    "rev-parse",
    ref,
    "--path-format=absolute",
    ...[...markers, "index.lock"].flatMap((m) => ["--git-path", m])
  ], {
    cwd: checkoutPath
  });
  const [tip = "", ...paths] = stdout.split("\n").filter(Boolean);
  const indexLock = paths.pop() ?? `${checkoutPath}/.git/index.lock`;
  return { tip, indexLock, busy: paths.find((path) => existsSync9(path)) };
}
function refuseBusy(checkoutPath, branch, busy) {
  if (busy) {
    throw new MiyabiError("CHECKOUT_BUSY", `the checkout of '${branch}' at ${checkoutPath} is in the middle of an operation (${busy.split("/").pop()})`, {
      hint: `Finish or abort it in ${checkoutPath} (git merge --abort / git rebase --abort), then merge again.`,
      details: { checkout: checkoutPath }
    });
  }
}
function repairAdvice(checkoutPath, branch, old, next, indexLock) {
  const git = `git -C ${shellQuote(checkoutPath)}`;
  return [
    "Its own changes are untouched. To finish the update (once no git process runs there):",
    `  rm -f ${shellQuote(indexLock)}`,
    `  ${git} update-ref ${shellQuote(`refs/heads/${branch}`)} ${next} ${old}`,
    `  ${git} diff-tree -r --name-only -z ${old} ${next} | ${git} restore --source=${next} --staged --worktree --pathspec-from-file=- --pathspec-file-nul`
  ].join("\n");
}
function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
function pathsFromReadTree(stderr) {
  return stderr.split("\n").filter((line) => /^\s/.test(line)).map((line) => line.trim()).filter(Boolean);
}
async function countChangedFiles(root, from, to) {
  const { stdout } = await runGit(["diff-tree", "-r", "--name-only", "--no-commit-id", "-z", from, to], {
    cwd: root
  });
  return stdout.split("\0").filter(Boolean).length;
}

// dist/git/push.js
async function pushBranch(options) {
  const remote = options.remote ?? "origin";
  if (!/^[A-Za-z0-9._/-]+$/.test(remote) || remote.startsWith("-")) {
    throw new MiyabiError("INVALID_ARGUMENT", `remote ${JSON.stringify(remote)} is not a valid remote name`);
  }
  const known = await runGit(["remote", "get-url", remote], { cwd: options.cwd, okExitCodes: [0, 2, 128] });
  if (known.exitCode !== 0) {
    throw new MiyabiError("NO_REMOTE", `the repository has no remote '${remote}'`, {
      hint: `Add it first: git remote add ${remote} <url>`
    });
  }
  const ref = `refs/heads/${options.branch}`;
  const { stdout: commit } = await runGit(["rev-parse", "--verify", `${ref}^{commit}`], { cwd: options.cwd });
  const result = await runGit(["push", "--porcelain", remote, `${ref}:${ref}`], {
    cwd: options.cwd,
    signal: options.signal,
    okExitCodes: [0, 1],
    timeoutMs: 10 * 6e4
  }).catch((error) => {
    throw new MiyabiError("GIT_FAILED", `could not push to '${remote}': ${firstLine(gitStderr(error)) || "no message"}`, {
      cause: error,
      hint: "Check that the remote is reachable and you may write to it (see git's message).",
      ...error instanceof MiyabiError && error.git ? { git: error.git } : {}
    });
  });
  const rejected = result.stdout.split("\n").find((line) => line.startsWith("!"));
  if (result.exitCode !== 0 || rejected) {
    const reason2 = rejected?.split("	").pop() ?? (firstLine(result.stderr) || "rejected");
    throw new MiyabiError("PUSH_REJECTED", `push of '${options.branch}' to '${remote}' was rejected: ${reason2}`, {
      hint: `The remote has commits the branch lacks (${reason2}); fetch and integrate them, then push again.`,
      details: { remote, branch: options.branch, reason: reason2 }
    });
  }
  const upstream = `refs/remotes/${remote}/${options.branch}`;
  await options.withLock(async () => {
    await runGit(["config", `branch.${options.branch}.remote`, remote], { cwd: options.cwd });
    await runGit(["config", `branch.${options.branch}.merge`, ref], { cwd: options.cwd });
  });
  return { commit: commit.trim(), upstream };
}

// dist/manager/verify-targets.js
async function verifyFollowUpTargets(repoRoot, targets, signal) {
  for (const [branch, option] of targets.branches ?? [])
    await assertLocalBranch(repoRoot, branch, option, signal);
  if (targets.remote !== void 0)
    await assertRemote(repoRoot, targets.remote, signal);
}
async function assertLocalBranch(repoRoot, branch, option, signal) {
  const found = await runGit(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`], {
    cwd: repoRoot,
    okExitCodes: [0, 1, 128],
    signal
  });
  if (found.exitCode === 0)
    return;
  throw noLocalBranch(branch, option);
}
function noLocalBranch(branch, option) {
  return new MiyabiError("INVALID_ARGUMENT", `${option}: there is no local branch '${branch}' to merge into`, {
    hint: `Merge into an existing local branch (git branch lists them), or create it first, e.g. git branch ${branch} origin/${branch}.`,
    details: { option, branch }
  });
}
async function assertRemote(repoRoot, remote, signal) {
  const found = remote.startsWith("-") ? void 0 : await runGit(["remote", "get-url", remote], { cwd: repoRoot, okExitCodes: [0, 2, 128], signal });
  if (found?.exitCode === 0)
    return;
  throw new MiyabiError("INVALID_ARGUMENT", `push.remote: there is no remote named '${remote}'`, {
    hint: "Add it (git remote add <name> <url>) or name another; git remote -v lists them.",
    details: { option: "push.remote", remote }
  });
}

// dist/manager/merge-push.js
async function liveRecord(ctx, id) {
  assertWorktreeId(id);
  const record = (await ctx.registry.read()).find((r) => r.id === id);
  const lock = record && await readEntryLock(ctx, record);
  if (!record || !lock?.known || !existsSync10(record.path) || foreignReason(ctx, record, lock) !== void 0)
    throw new MiyabiError("NOT_FOUND", `no worktree with id '${id}'`, { details: { id } });
  return record;
}
async function mergeIntoLocalBranch(options) {
  const { intoGiven, ...merge2 } = options;
  try {
    return await mergeBranch(merge2);
  } catch (error) {
    if (intoGiven && isMiyabiError(error) && error.code === "NOT_FOUND" && error.details?.into === merge2.into)
      throw noLocalBranch(merge2.into, "into");
    throw error;
  }
}
async function mergeWorktree(ctx, id, options = {}) {
  const record = await liveRecord(ctx, id);
  const into = options.into ?? record.baseBranch;
  if (options.into !== void 0)
    await assertValidBranchName(options.into, "into", ctx.repo.root);
  if (into === record.branchName) {
    throw new MiyabiError("INVALID_ARGUMENT", `cannot merge worktree ${id} into its own branch '${into}'`, {
      hint: "Pass into: the branch that should receive the work, e.g. main."
    });
  }
  const started = performance.now();
  const eventBase = eventBaseOf(record, options.batchId);
  ctx.telemetry.record({ type: "merge-start", ...eventBase, into });
  const outcome = await recordingFailure(ctx, "merge", eventBase, started, () => mergeIntoLocalBranch({
    root: ctx.repo.root,
    source: record.branchName,
    into,
    intoGiven: options.into !== void 0,
    ...options.strategy ? { strategy: options.strategy } : {},
    ...options.message ? { message: options.message } : {},
    signal: options.signal,
    withLock: ctx.lock.run,
    commonDir: ctx.repo.commonDir
  }));
  ctx.telemetry.record({
    type: "merge-complete",
    ...eventBase,
    into: outcome.into,
    status: outcome.status,
    commit: outcome.commit,
    durationMs: Math.round(performance.now() - started)
  });
  safeLog(ctx.logger, "info", {
    worktreeId: id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    into,
    status: outcome.status,
    durationMs: Math.round(performance.now() - started)
  }, "merge");
  return {
    id,
    branchName: record.branchName,
    into: outcome.into,
    strategy: outcome.strategy,
    status: outcome.status,
    commit: outcome.commit,
    previousCommit: outcome.previousCommit,
    updatedCheckout: outcome.updatedCheckout,
    changedFiles: outcome.changedFiles
  };
}
async function pushWorktree(ctx, id, options = {}) {
  const record = await liveRecord(ctx, id);
  const remote = options.remote ?? "origin";
  const started = performance.now();
  const eventBase = eventBaseOf(record, options.batchId);
  ctx.telemetry.record({ type: "push-start", ...eventBase, remote });
  const pushed = await recordingFailure(ctx, "push", eventBase, started, () => pushBranch({
    cwd: record.path,
    branch: record.branchName,
    remote,
    signal: options.signal,
    withLock: ctx.lock.run
  }));
  ctx.telemetry.record({
    type: "push-complete",
    ...eventBase,
    remote,
    commit: pushed.commit,
    durationMs: Math.round(performance.now() - started)
  });
  safeLog(ctx.logger, "info", {
    worktreeId: id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    remote,
    durationMs: Math.round(performance.now() - started)
  }, "push");
  return { id, remote, branchName: record.branchName, commit: pushed.commit, upstream: pushed.upstream };
}
function eventBaseOf(record, batchId) {
  return {
    worktreeId: record.id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    ...batchId !== void 0 ? { batchId } : {}
  };
}
async function recordingFailure(ctx, operation, eventBase, started, step) {
  try {
    return await step();
  } catch (error) {
    throw recordFailure(ctx, operation, eventBase, started, error);
  }
}

// dist/manager/prepare-worktree.js
import { existsSync as existsSync12 } from "node:fs";
import { join as join23 } from "node:path";

// dist/process/task-environment.js
function worktreeEnvironment(worktree, batchId) {
  return {
    MIYABI_ISSUE_NUMBER: String(worktree.issueNumber),
    MIYABI_WORKTREE_PATH: worktree.path,
    MIYABI_BRANCH: worktree.branchName,
    [WORKTREE_ID_VAR]: worktree.id,
    // Config `ports`: the worktree's own block, so dev servers of parallel tasks never collide.
    ...worktree.ports && worktree.ports.length > 0 ? { MIYABI_PORT: String(worktree.ports[0]), MIYABI_PORTS: worktree.ports.join(",") } : {},
    ...batchId !== void 0 ? { MIYABI_BATCH_ID: batchId } : {}
  };
}

// dist/setup/prepare-settings.js
function resolvePrepareSettings(config, given, option = "prepare") {
  if (given !== void 0 && (typeof given !== "object" || given === null)) {
    throw invalid(`${option} must be an object like { include, setup, setupTimeoutMs }, got ${describe(given)}`);
  }
  const include = given?.include ?? config.include;
  const setup = given?.setup ?? config.setup;
  const setupTimeoutMs = given?.setupTimeoutMs ?? config.setupTimeoutMs;
  const share = given?.share ?? config.share;
  if (!Array.isArray(share) || !share.every((entry) => typeof entry === "object" && entry !== null && relativePathProblem(entry.path) === void 0 && (entry.mode === "clone" || entry.mode === "symlink"))) {
    throw invalid(`${option}.share must be an array like [{ path: 'node_modules', mode: 'clone' }] of relative paths, got ${describe(share)}`);
  }
  const linked = share.filter((entry) => entry.mode === "symlink").map((entry) => entry.path);
  if (linked.length > 0 && setup.length > 0) {
    throw new MiyabiError("INVALID_CONFIG", `share: "${linked.join('", "')}" is linked (mode "symlink") while setup runs commands: every task's setup would write through the link into the main checkout at once`, { hint: 'Use mode "clone" (a copy each worktree owns), or drop setup.' });
  }
  if (typeof include !== "boolean")
    throw invalid(`${option}.include must be true or false, got ${describe(include)}`);
  const isArgv = (argv) => Array.isArray(argv) && argv.length > 0 && argv.every((part) => typeof part === "string" && part !== "");
  if (!Array.isArray(setup) || !setup.every(isArgv)) {
    throw invalid(`${option}.setup must be an array of commands like [["npm", "ci"]], got ${describe(setup)}`);
  }
  if (typeof setupTimeoutMs !== "number" || !Number.isFinite(setupTimeoutMs) || setupTimeoutMs <= 0) {
    throw invalid(`${option}.setupTimeoutMs must be a positive number of milliseconds, got ${describe(setupTimeoutMs)}`);
  }
  return {
    include,
    setup,
    setupTimeoutMs,
    share: share.map((entry) => ({ path: normaliseRelativePath(entry.path), mode: entry.mode }))
  };
}
function invalid(message) {
  return new MiyabiError("INVALID_ARGUMENT", message, {
    hint: "Leave it out to use the configuration file (include, setup, setupTimeout)."
  });
}

// dist/setup/prepare-worktree.js
import { appendFile as appendFile2 } from "node:fs/promises";

// dist/process/last-lines.js
function lastLines(tail, count = 3) {
  return tail.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "").slice(-count).join(" | ");
}

// dist/process/run-command.js
import { spawn as spawn2 } from "node:child_process";
import { createWriteStream, existsSync as existsSync11, mkdirSync, statSync } from "node:fs";
import { dirname as dirname6, isAbsolute as isAbsolute3 } from "node:path";

// dist/process/output-tail.js
import { StringDecoder } from "node:string_decoder";
var OutputTail = class {
  #maxChars;
  #onLine;
  #streams = [
    { decoder: new StringDecoder("utf8"), partial: "" },
    { decoder: new StringDecoder("utf8"), partial: "" }
  ];
  #text = "";
  constructor(maxBytes, onLine) {
    this.#maxChars = Math.max(256, maxBytes);
    this.#onLine = onLine;
  }
  /** Adds a chunk of stream 0 (stdout) or 1 (stderr). */
  push(chunk, stream) {
    const state = this.#streams[stream];
    if (!state)
      return;
    const text = state.decoder.write(chunk);
    this.#append(text);
    if (this.#onLine)
      this.#emitLines(state, text);
  }
  /** Ends both streams: last lines without a newline are reported too. */
  flush() {
    for (const state of this.#streams) {
      const rest = state.decoder.end();
      this.#append(rest);
      if (!this.#onLine)
        continue;
      this.#emitLines(state, rest);
      if (state.partial)
        this.#report(state.partial);
      state.partial = "";
    }
  }
  /** The retained output, starting at a line boundary when one is within reach. */
  text() {
    if (this.#text.length < this.#maxChars)
      return this.#text;
    const newline = this.#text.indexOf("\n");
    return newline >= 0 && newline < this.#text.length - 1 ? this.#text.slice(newline + 1) : this.#text;
  }
  #append(text) {
    this.#text += text;
    if (this.#text.length > this.#maxChars * 2)
      this.#text = this.#text.slice(-this.#maxChars);
  }
  #emitLines(state, text) {
    const lines = (state.partial + text).split(/\r?\n/);
    state.partial = (lines.pop() ?? "").slice(-this.#maxChars);
    for (const line of lines)
      this.#report(line);
  }
  #report(line) {
    try {
      this.#onLine?.(line);
    } catch {
    }
  }
};

// dist/process/run-command.js
var DEFAULT_TAIL_BYTES = 64 * 1024;
var FILE_TAIL_BYTES = 8 * 1024;
async function runCommand(argv, options) {
  validate(argv, options);
  const timeoutSignal = options.timeoutMs !== void 0 ? AbortSignal.timeout(options.timeoutMs) : void 0;
  const signals = [options.signal, timeoutSignal].filter((s) => s !== void 0);
  const signal = signals.length > 0 ? AbortSignal.any(signals) : void 0;
  if (options.signal?.aborted || newProcessesRefused()) {
    const why = options.signal?.aborted ? "already aborted" : "a forced stop is under way";
    throw new MiyabiError("CANCELLED", `not started: ${argv[0]} (${why})`, {
      cause: options.signal?.reason
    });
  }
  const output = options.output ?? {};
  const file = "file" in output ? output.file : void 0;
  const tailLimit = file ? FILE_TAIL_BYTES : ("tailBytes" in output ? output.tailBytes : void 0) ?? DEFAULT_TAIL_BYTES;
  const tail = new OutputTail(tailLimit, options.onLine);
  let sink;
  if (file) {
    mkdirSync(dirname6(file), { recursive: true });
    sink = createWriteStream(file, { flags: "a" });
  }
  const started = performance.now();
  const child = spawn2(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: mergeEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    shell: false
  });
  if (child.pid !== void 0)
    rememberGroup(child.pid);
  try {
    await spawned(child, argv);
  } catch (error) {
    if (child.pid !== void 0)
      forgetGroup(child.pid);
    sink?.end();
    throw error;
  }
  const pid = child.pid;
  const closed = new Promise((resolve7) => child.once("close", () => resolve7()));
  for (const [index, stream] of [child.stdout, child.stderr].entries()) {
    stream?.on("data", (chunk) => {
      tail.push(chunk, index);
      sink?.write(chunk);
    });
  }
  let timedOut2 = false;
  let aborted = false;
  const onAbort = () => {
    timedOut2 = timeoutSignal?.aborted === true && options.signal?.aborted !== true;
    aborted = !timedOut2;
    void terminateGroup(pid, options.graceMs ?? 2e3);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted)
    onAbort();
  const [exitCode, exitSignal] = await new Promise((resolve7) => child.once("exit", (code, sig) => resolve7([code, sig])));
  signal?.removeEventListener("abort", onAbort);
  if (options.killGroupOnExit ?? true)
    await terminateGroup(pid, options.graceMs ?? 2e3);
  else
    forgetGroup(pid);
  await drained(closed, PIPE_DRAIN_MS2);
  child.stdout?.destroy();
  child.stderr?.destroy();
  tail.flush();
  if (sink)
    await new Promise((resolve7) => sink?.end(resolve7));
  return {
    argv: [...argv],
    pid,
    exitCode,
    signal: exitSignal,
    durationMs: Math.round(performance.now() - started),
    timedOut: timedOut2,
    aborted,
    outputFile: file,
    tail: tail.text().slice(-tailLimit),
    ok: exitCode === 0 && !timedOut2 && !aborted
  };
}
var PIPE_DRAIN_MS2 = 1e3;
async function drained(closed, ms) {
  let timer;
  await Promise.race([closed, new Promise((resolve7) => timer = setTimeout(resolve7, ms))]);
  clearTimeout(timer);
}
async function terminateGroup(pid, graceMs) {
  await terminate(processGroup(pid), { graceMs });
  forgetGroup(pid);
}
function spawned(child, argv) {
  return new Promise((resolve7, reject) => {
    child.once("spawn", () => resolve7());
    child.once("error", (error) => {
      if (error.code === "ENOENT") {
        reject(new MiyabiError("COMMAND_NOT_FOUND", `command not found: ${argv[0]}`, {
          cause: error,
          hint: "Check the command name and your PATH."
        }));
      } else {
        reject(new MiyabiError("COMMAND_FAILED", `could not start ${argv[0]}: ${error.message}`, { cause: error }));
      }
    });
  });
}
function mergeEnv(extra) {
  const env = withoutRepositoryEnv();
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value === void 0)
      delete env[key];
    else
      env[key] = value;
  }
  return env;
}
function validate(argv, options) {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((arg) => typeof arg !== "string") || argv[0] === "") {
    throw new MiyabiError("INVALID_ARGUMENT", `argv must be a non-empty array of strings, got ${describe(argv)}`, {
      hint: "Pass the program and its arguments, e.g. ['npm', 'test']."
    });
  }
  if (typeof options?.cwd !== "string" || !isAbsolute3(options.cwd) || !existsSync11(options.cwd)) {
    throw new MiyabiError("INVALID_ARGUMENT", `cwd must be an existing absolute directory, got ${describe(options?.cwd)}`);
  }
  if (!statSync(options.cwd).isDirectory()) {
    throw new MiyabiError("INVALID_ARGUMENT", `cwd ${options.cwd} is not a directory`);
  }
  for (const key of ["timeoutMs", "graceMs"]) {
    const value = options[key];
    if (value === void 0)
      continue;
    const min = key === "graceMs" ? 0 : 1;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > 2147483647) {
      throw new MiyabiError("INVALID_ARGUMENT", `${key} must be a finite number of milliseconds >= ${min}, got ${describe(value)}`);
    }
  }
}

// dist/state/log-file.js
import { mkdir as mkdir7, open as open4 } from "node:fs/promises";
import { dirname as dirname7 } from "node:path";
var LOG_FILE_MODE = 384;
var LOG_DIR_MODE = 448;
async function openLogFile(path) {
  await mkdir7(dirname7(path), { recursive: true, mode: LOG_DIR_MODE });
  const handle = await open4(path, "a", LOG_FILE_MODE);
  try {
    await handle.chmod(LOG_FILE_MODE);
  } finally {
    await handle.close();
  }
  return path;
}

// dist/setup/run-setup.js
var DEFAULT_TAIL_BYTES2 = 4096;
async function runSetupCommands(commands, options) {
  const started = Date.now();
  const deadline = options.timeoutMs === void 0 ? void 0 : started + options.timeoutMs;
  const steps = [];
  for (const [index, argv] of commands.entries()) {
    if (argv.length === 0 || argv[0] === "") {
      throw new MiyabiError("INVALID_ARGUMENT", `setup command ${index + 1} is empty`, {
        hint: 'Each setup command is a non-empty argv array, e.g. ["npm", "ci"].'
      });
    }
    if (options.signal?.aborted)
      throw cancelled2(argv, index, options.signal);
    const remaining = deadline === void 0 ? void 0 : deadline - Date.now();
    if (remaining !== void 0 && remaining <= 0)
      throw timedOut(argv, index, options.timeoutMs, void 0);
    const result = await options.runCommand(argv, {
      cwd: options.cwd,
      env: options.env,
      signal: options.signal,
      timeoutMs: remaining,
      output: { tailBytes: options.tailBytes ?? DEFAULT_TAIL_BYTES2 }
    });
    if (!result.ok)
      throw failure(argv, index, result, options);
    steps.push({ argv, durationMs: result.durationMs });
  }
  return { steps, durationMs: Date.now() - started };
}
function failure(argv, index, result, options) {
  if (result.aborted)
    return cancelled2(argv, index, options.signal, result);
  if (result.timedOut)
    return timedOut(argv, index, options.timeoutMs, result);
  const how = result.exitCode !== null && result.exitCode !== void 0 ? `exit ${result.exitCode}` : `signal ${result.signal ?? "unknown"}`;
  return new MiyabiError("COMMAND_FAILED", `setup command failed: ${formatArgv(argv)} (${how})`, {
    hint: "Run the command in the worktree by hand to see why, or fix `setup` in the configuration.",
    details: details(argv, index, result)
  });
}
function timedOut(argv, index, timeoutMs, result) {
  return new MiyabiError("TIMEOUT", `setup timed out after ${timeoutMs ?? 0} ms at: ${formatArgv(argv)}`, {
    hint: "Raise `setupTimeout` in the configuration, or make the setup faster.",
    details: details(argv, index, result)
  });
}
function cancelled2(argv, index, signal, result) {
  return new MiyabiError("CANCELLED", `setup was cancelled at: ${formatArgv(argv)}`, {
    cause: signal?.reason,
    details: details(argv, index, result)
  });
}
function details(argv, index, result) {
  return {
    argv: [...argv],
    index,
    ...result ? {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      durationMs: result.durationMs,
      tail: result.tail
    } : {}
  };
}
function formatArgv(argv) {
  return argv.map((arg) => /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`).join(" ");
}

// dist/setup/share-dependencies.js
import { constants } from "node:fs";
import { copyFile as copyFile2, cp, lstat, mkdir as mkdir8, opendir, rm as rm9, symlink } from "node:fs/promises";
import { dirname as dirname8, join as join21 } from "node:path";
async function shareDependencies(repoRoot, worktreePath, entries) {
  const results = [];
  for (const entry of entries) {
    const started = performance.now();
    const source = join21(repoRoot, entry.path);
    const target = join21(worktreePath, entry.path);
    const done = (method, note) => ({
      path: entry.path,
      mode: entry.mode,
      method,
      durationMs: Math.round(performance.now() - started),
      ...note !== void 0 ? { note } : {}
    });
    if (!await exists(source)) {
      results.push(done("skipped", `${entry.path} does not exist in the main checkout`));
      continue;
    }
    if (await exists(target)) {
      results.push(done("skipped", `the worktree has ${entry.path} already`));
      continue;
    }
    await mkdir8(dirname8(target), { recursive: true });
    if (entry.mode === "symlink") {
      await symlink(source, target, "dir");
      results.push(done("symlink"));
      continue;
    }
    const reflink = await canReflink(source, target);
    await copyTree(source, target, reflink);
    results.push(done(reflink ? "reflink" : "copy"));
  }
  return results;
}
async function copyTree(source, target, reflink) {
  if (process.platform === "linux") {
    const copied = await runCommand(["cp", "-R", "--preserve=mode,timestamps,links", "--reflink=auto", source, target], {
      cwd: dirname8(target)
    }).catch(() => void 0);
    if (copied?.exitCode === 0)
      return;
    await rm9(target, { recursive: true, force: true });
  }
  await cp(source, target, {
    recursive: true,
    preserveTimestamps: true,
    verbatimSymlinks: true,
    ...reflink ? { mode: constants.COPYFILE_FICLONE } : {}
  });
}
async function canReflink(source, target) {
  const sample = await firstFile(source, 4);
  if (!sample)
    return false;
  const probe = `${target}.miyabi-reflink-probe`;
  try {
    await copyFile2(sample, probe, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    await rm9(probe, { force: true });
  }
}
async function firstFile(dir, depth) {
  const handle = await opendir(dir).catch(() => void 0);
  if (!handle)
    return void 0;
  const folders = [];
  for await (const entry of handle) {
    if (entry.isFile())
      return join21(dir, entry.name);
    if (entry.isDirectory())
      folders.push(join21(dir, entry.name));
  }
  if (depth === 0)
    return void 0;
  for (const folder of folders) {
    const found = await firstFile(folder, depth - 1);
    if (found)
      return found;
  }
  return void 0;
}
async function exists(path) {
  return lstat(path).then(() => true, () => false);
}

// dist/setup/worktree-include.js
import { constants as constants2 } from "node:fs";
import { copyFile as copyFile3, lstat as lstat2, mkdir as mkdir9, readdir as readdir7, readlink as readlink2, realpath as realpath2, symlink as symlink2 } from "node:fs/promises";
import { dirname as dirname9, isAbsolute as isAbsolute4, join as join22, relative as relative3, resolve as resolve4, sep as sep3 } from "node:path";
var WORKTREE_INCLUDE_FILE = ".worktreeinclude";
var COPY_PARALLELISM = 16;
async function copyWorktreeInclude(repoRoot, worktreePath, options = {}) {
  const includeFile = join22(repoRoot, WORKTREE_INCLUDE_FILE);
  if (!await isFile(includeFile))
    return { copied: [], skipped: [] };
  const scanned = await listIncludedIgnored(repoRoot, includeFile, options.worktreeDir ?? worktreePath, options.signal);
  const { candidates } = scanned;
  const source = await realpath2(repoRoot);
  const target = await realpath2(worktreePath);
  const copied = [];
  const skipped = [...scanned.skipped];
  for (let start = 0; start < candidates.length; start += COPY_PARALLELISM) {
    throwIfAborted(options.signal);
    const batch = candidates.slice(start, start + COPY_PARALLELISM);
    const outcomes = await Promise.all(batch.map((path) => copyOneSafely(source, target, path)));
    batch.forEach((path, index) => {
      const outcome = outcomes[index];
      if (outcome === void 0)
        copied.push(path);
      else
        skipped.push({ path, ...outcome });
    });
  }
  return { copied, skipped: skipped.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0) };
}
async function listIncludedIgnored(repoRoot, includeFile, leftOut, signal) {
  const leftOutRel = toGitPath(relative3(repoRoot, leftOut));
  const inside = leftOutRel !== "" && !leftOutRel.startsWith("..") && !isAbsolute4(leftOutRel);
  const pathspecs = inside ? await pathspecsAround(repoRoot, leftOutRel) : [];
  if (pathspecs.length === 0 && inside)
    return { candidates: [], skipped: [] };
  const matched = await runGit([
    "ls-files",
    "--others",
    "--ignored",
    `--exclude-from=${includeFile}`,
    "-z",
    ...pathspecs.length > 0 ? ["--", ...pathspecs] : []
  ], { cwd: repoRoot, signal });
  const skipped = [];
  const files = [];
  for (const path of splitNul(matched.stdout)) {
    if (path.endsWith("/"))
      skipped.push({ path: path.slice(0, -1), reason: "nested-repository" });
    else
      files.push(path);
  }
  if (files.length === 0)
    return { candidates: [], skipped };
  const ignored = await runGit(["check-ignore", "--stdin", "-z"], {
    cwd: repoRoot,
    signal,
    input: `${files.join("\0")}\0`,
    okExitCodes: [0, 1]
  });
  const ignoredSet = new Set(splitNul(ignored.stdout));
  const candidates = [];
  for (const path of files) {
    if (ignoredSet.has(path))
      candidates.push(path);
    else
      skipped.push({ path, reason: "not-ignored" });
  }
  return { candidates, skipped };
}
async function pathspecsAround(repoRoot, rel) {
  const specs = [];
  let dir = repoRoot;
  let prefix = "";
  for (const part of rel.split("/")) {
    const names = await readdir7(dir).catch(() => []);
    for (const name of names) {
      if (name !== part && !(prefix === "" && name === ".git"))
        specs.push(`:(literal)${prefix}${name}`);
    }
    dir = join22(dir, part);
    prefix = `${prefix}${part}/`;
  }
  return specs;
}
async function copyOneSafely(source, target, path) {
  try {
    const reason2 = await copyOne(source, target, path);
    return reason2 === void 0 ? void 0 : { reason: reason2 };
  } catch (error) {
    return { reason: "copy-failed", error: error instanceof Error ? error.message : String(error) };
  }
}
async function copyOne(source, target, path) {
  const from = join22(source, path);
  const to = join22(target, path);
  const stat8 = await lstat2(from).catch(() => void 0);
  if (!stat8 || !(stat8.isFile() || stat8.isSymbolicLink()))
    return "not-a-file";
  const link = stat8.isSymbolicLink() ? await readlink2(from) : void 0;
  if (link !== void 0 && (isAbsolute4(link) || !isInside(resolve4(dirname9(from), link), source))) {
    return "symlink-outside";
  }
  if (!await prepareParent(target, to))
    return "unsafe-destination";
  try {
    if (link !== void 0)
      await symlink2(link, to);
    else
      await copyFile3(from, to, constants2.COPYFILE_EXCL | constants2.COPYFILE_FICLONE);
    return void 0;
  } catch (error) {
    if (error.code === "EEXIST")
      return "exists";
    throw error;
  }
}
var UNSAFE_PARENT_CODES = /* @__PURE__ */ new Set(["EEXIST", "ENOTDIR", "ENOENT", "ELOOP"]);
async function prepareParent(target, to) {
  const parent = dirname9(to);
  try {
    await mkdir9(parent, { recursive: true });
  } catch (error) {
    if (UNSAFE_PARENT_CODES.has(error.code ?? ""))
      return false;
    throw error;
  }
  return isInside(await realpath2(parent), target);
}
function isInside(path, root) {
  if (root === "")
    return false;
  const rel = relative3(root, path);
  return rel === "" || !rel.startsWith(`..${sep3}`) && rel !== ".." && !isAbsolute4(rel);
}
async function isFile(path) {
  const stat8 = await lstat2(path).catch(() => void 0);
  return stat8?.isFile() ?? false;
}
function splitNul(text) {
  return text.split("\0").filter((entry) => entry !== "");
}
function toGitPath(path) {
  return sep3 === "/" ? path : path.split(sep3).join("/");
}
function throwIfAborted(signal) {
  if (signal?.aborted) {
    throw new MiyabiError("CANCELLED", "copying .worktreeinclude files was cancelled", {
      cause: signal.reason
    });
  }
}

// dist/setup/prepare-worktree.js
async function prepareWorktree(worktree, options) {
  const share = options.config.share;
  if (options.commonDir && share.some((entry) => entry.mode === "symlink")) {
    await ensureExcludedLinks(options.commonDir, share.filter((entry) => entry.mode === "symlink").map((entry) => entry.path));
  }
  const shared = share.length > 0 ? await shareDependencies(options.repoRoot, worktree.path, share) : [];
  const include = options.config.include ? await copyWorktreeInclude(options.repoRoot, worktree.path, {
    signal: options.signal,
    worktreeDir: options.worktreeDir
  }) : { copied: [], skipped: [] };
  const { logFile, onLine } = options;
  if (logFile)
    await openLogFile(logFile);
  await reportFailedCopies(include.skipped, options);
  for (const entry of shared) {
    const line = `share ${entry.path}: ${entry.method}${entry.note ? ` (${entry.note})` : ""} in ${entry.durationMs} ms`;
    if (logFile)
      await appendFile2(logFile, `# ${line}
`);
  }
  if (options.config.setup.length === 0)
    return { ...include, shared, setup: [] };
  const runner = async (argv, runOptions) => {
    if (logFile)
      await appendFile2(logFile, `$ ${formatArgv(argv)}   # setup
`);
    return runCommand(argv, {
      cwd: runOptions.cwd,
      env: runOptions.env,
      signal: runOptions.signal,
      ...runOptions.timeoutMs !== void 0 ? { timeoutMs: Math.max(1, runOptions.timeoutMs) } : {},
      output: logFile ? { file: logFile } : runOptions.output,
      ...onLine ? { onLine } : {}
    });
  };
  try {
    const result = await runSetupCommands(options.config.setup, {
      cwd: worktree.path,
      env: options.env,
      timeoutMs: options.config.setupTimeoutMs,
      signal: options.signal,
      runCommand: runner
    });
    return { ...include, shared, setup: result.steps };
  } catch (error) {
    throw withOutput(error, logFile);
  }
}
async function reportFailedCopies(skipped, options) {
  for (const entry of skipped) {
    const line = entry.reason === "copy-failed" ? `${WORKTREE_INCLUDE_FILE}: could not copy ${entry.path}: ${entry.error ?? "unknown error"}` : `${WORKTREE_INCLUDE_FILE}: skipped ${entry.path} (${entry.reason})`;
    if (options.logFile)
      await appendFile2(options.logFile, `${line}
`);
    options.onLine?.(line);
  }
}
function withOutput(error, logFile) {
  if (!isMiyabiError(error) || error.code !== "COMMAND_FAILED" && error.code !== "TIMEOUT")
    return error;
  const tail = typeof error.details?.tail === "string" ? lastLines(error.details.tail) : "";
  return new MiyabiError(error.code, tail ? `${error.message}: ${tail}` : error.message, {
    hint: logFile ? `Its output is in ${logFile}. ${error.hint}` : error.hint,
    cause: error,
    ...error.details ? { details: error.details } : {}
  });
}

// dist/manager/prepare-worktree.js
async function prepareWorktreeOf(ctx, id, options = {}) {
  const settings = resolvePrepareSettings(ctx.config.config, options, "options");
  const record = await registeredRecord(ctx, id);
  const eventBase = {
    worktreeId: record.id,
    issueNumber: record.issueNumber,
    branch: record.branchName,
    ...options.batchId !== void 0 ? { batchId: options.batchId } : {}
  };
  const started = performance.now();
  ctx.telemetry.record({ type: "setup-start", ...eventBase });
  try {
    const prepared = await prepareWorktree(record, {
      repoRoot: ctx.repo.root,
      commonDir: ctx.repo.commonDir,
      worktreeDir: ctx.worktreeDir,
      config: settings,
      env: { ...options.env, ...worktreeEnvironment(record, options.batchId) },
      signal: options.signal,
      logFile: options.logFile,
      onLine: options.onLine
    });
    ctx.telemetry.record({
      type: "setup-complete",
      ...eventBase,
      durationMs: Math.round(performance.now() - started),
      copied: prepared.copied.length,
      commands: prepared.setup.length
    });
    return prepared;
  } catch (error) {
    recordFailure(ctx, "setup", eventBase, started, error);
    throw error;
  }
}
function needsPreparation(repoRoot, settings) {
  return settings.setup.length > 0 || settings.share.length > 0 || settings.include && existsSync12(join23(repoRoot, WORKTREE_INCLUDE_FILE));
}
async function registeredRecord(ctx, id) {
  assertWorktreeId(id);
  const record = (await ctx.registry.read()).find((r) => r.id === id);
  if (!record || !existsSync12(record.path)) {
    throw new MiyabiError("NOT_FOUND", `no worktree with id '${id}'`, { details: { id } });
  }
  return record;
}

// dist/manager/resolve-conflicts.js
import { mkdir as mkdir10, readFile as readFile11, writeFile as writeFile3 } from "node:fs/promises";
import { join as join24 } from "node:path";
var QUIET = ["-c", "core.hooksPath=/dev/null", "-c", "gc.auto=0"];
var MARKER = /^(?:<{7}|>{7})(?: |$)|^={7}$/m;
async function mergeTargetIntoWorktree(ctx, id, options = {}) {
  const record = await liveRecord(ctx, id);
  const into = options.into ?? record.baseBranch;
  await assertLocalBranch(ctx.repo.root, into, "into", options.signal);
  const { signal } = options;
  const git = (args, okExitCodes = [0]) => runGit(args, { cwd: record.path, signal, okExitCodes });
  const conflictsFile = join24(ctx.repo.stateDir, "conflicts", `${id}.txt`);
  const result = (status, conflicts2) => ({
    id,
    path: record.path,
    branchName: record.branchName,
    into,
    status,
    conflicts: conflicts2,
    conflictsFile
  });
  if ((await git(["rev-parse", "-q", "--verify", "MERGE_HEAD"], [0, 1])).exitCode === 0) {
    await git(["merge", "--abort"]);
  }
  const contained = await git(["merge-base", "--is-ancestor", "HEAD", `refs/heads/${into}`], [0, 1]);
  await writeConflictsFile(conflictsFile, []);
  if (contained.exitCode === 0)
    return result("already-merged", []);
  const merged = await runGit([
    ...QUIET,
    "merge",
    "--no-ff",
    "--no-edit",
    "-m",
    `Merge ${into} into ${record.branchName}`,
    `refs/heads/${into}`
  ], { cwd: record.path, signal, okExitCodes: [0, 1, 128], env: await identityEnv(record.path) });
  if (merged.exitCode === 0)
    return result("clean", []);
  const unmerged = await git(["diff", "--name-only", "--diff-filter=U", "-z"]);
  const conflicts = unmerged.stdout.split("\0").filter((path) => path !== "");
  if (merged.exitCode !== 1 || conflicts.length === 0) {
    throw new MiyabiError("WORKTREE_DIRTY", `cannot merge ${into} into worktree ${id}: ${firstLine2(merged.stderr)}`, {
      hint: "Commit or discard the uncommitted changes in the worktree, then try again.",
      details: { id, path: record.path, stderr: merged.stderr }
    });
  }
  await writeConflictsFile(conflictsFile, conflicts);
  return result("conflicted", conflicts);
}
async function verifyResolution(ctx, id, options) {
  const record = await liveRecord(ctx, id);
  const withMarkers = [];
  for (const path of options.conflicts) {
    const text = await readFile11(join24(record.path, path), "utf8").catch(() => "");
    if (MARKER.test(text))
      withMarkers.push(path);
  }
  if (withMarkers.length > 0) {
    throw new MiyabiError("CONFLICT_UNRESOLVED", `conflict markers remain in ${withMarkers.join(", ")}`, {
      hint: "Edit those files to the intended content, then git add -A && git commit --no-edit.",
      details: { id, files: withMarkers }
    });
  }
  const pending = await runGit(["rev-parse", "-q", "--verify", "MERGE_HEAD"], {
    cwd: record.path,
    signal: options.signal,
    okExitCodes: [0, 1]
  });
  if (pending.exitCode === 0) {
    throw new MiyabiError("CONFLICT_UNRESOLVED", `the merge in worktree ${id} is resolved but not committed`, {
      hint: "Commit the resolution: git add -A && git commit --no-edit.",
      details: { id, files: options.conflicts }
    });
  }
}
async function writeConflictsFile(file, conflicts) {
  await mkdir10(join24(file, ".."), { recursive: true });
  await writeFile3(file, conflicts.map((path) => `${path}
`).join(""), { mode: 420 });
}
function firstLine2(text) {
  return text.split("\n").find((line) => line.trim() !== "") ?? "git merge failed";
}

// dist/manager/restore-worktree.js
async function restoreWorktree(ctx, id, options = {}) {
  assertWorktreeId(id);
  const { root } = ctx.repo;
  if ((await ctx.registry.read()).some((record) => record.id === id)) {
    throw new MiyabiError("ALREADY_EXISTS", `worktree ${id} still exists; there is nothing to restore`, {
      hint: "Remove it first, or use it as it is."
    });
  }
  const archive2 = await readArchive(root, id);
  if (!archive2) {
    throw new MiyabiError("NOT_FOUND", `no archive for '${id}'`, {
      hint: "Archives are listed by: git for-each-ref refs/miyabi/archive/",
      details: { id }
    });
  }
  const { metadata } = archive2;
  const { branchName, created: createdBranch } = await ctx.lock.run(() => prepareBranch(root, metadata.branchName, metadata.head, id));
  let info;
  try {
    info = await createWorktree(ctx, metadata.issueNumber, {
      branchName,
      ...options.signal ? { signal: options.signal } : {},
      ...await baseIfPresent(root, metadata.baseBranch)
    });
  } catch (error) {
    if (createdBranch) {
      await runGit(["update-ref", "-d", `refs/heads/${branchName}`, metadata.head], {
        cwd: root
      }).catch(() => {
      });
    }
    throw error;
  }
  if (metadata.uncommittedPaths.length > 0) {
    await runGit(["read-tree", "--reset", "-u", archive2.tree], { cwd: info.path });
    await runGit(["reset", "--quiet"], { cwd: info.path });
  }
  return info;
}
async function prepareBranch(root, archivedBranch, head, id) {
  for (const branchName of [archivedBranch, `${archivedBranch}-restored-${id.slice(-8)}`]) {
    const ref = `refs/heads/${branchName}`;
    const tip = await runGit(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
      cwd: root,
      okExitCodes: [0, 1]
    });
    if (tip.exitCode !== 0) {
      await runGit(["update-ref", "-m", "miyabi-worktree: restore", ref, head, ""], { cwd: root });
      return { branchName, created: true };
    }
    if (tip.stdout.trim() === head)
      return { branchName, created: false };
  }
  throw new MiyabiError("ALREADY_EXISTS", `branch '${archivedBranch}' has moved since it was archived`, {
    hint: `Restore needs a branch at ${head.slice(0, 12)}; '${archivedBranch}' and '${archivedBranch}-restored-${id.slice(-8)}' both point elsewhere. Rename one of them, then restore again.`,
    details: { branchName: archivedBranch, archived: head }
  });
}
async function baseIfPresent(root, baseBranch) {
  const found = await runGit(["rev-parse", "--verify", "--quiet", `refs/heads/${baseBranch}^{commit}`], {
    cwd: root,
    okExitCodes: [0, 1]
  });
  return found.exitCode === 0 ? { baseBranch } : {};
}

// dist/manager/warm-worktrees.js
import { mkdir as mkdir11, rm as rm10 } from "node:fs/promises";
import { join as join25 } from "node:path";
async function warmWorktrees(ctx, count, options = {}) {
  assertPositiveInteger(count, "count");
  const base2 = options.baseBranch === void 0 ? ctx.defaultBase : await resolveBaseBranch(ctx.repo.root, options.baseBranch);
  const maxIdle = options.maxIdle ?? ctx.config.config.maxIdle ?? ctx.slots.capacity;
  const idle = (await ctx.registry.read()).filter((r) => r.status === "idle").length;
  const wanted = Math.max(0, Math.min(count, maxIdle) - idle);
  return Promise.all(Array.from({ length: wanted }, () => warmOne(ctx, base2, options.signal)));
}
async function warmOne(ctx, base2, signal) {
  const slot = newSlotName();
  const path = join25(ctx.worktreeDir, slot);
  const owner = currentOwner();
  const info = await ctx.lock.run(async () => {
    await mkdir11(ctx.worktreeDir, { recursive: true });
    await runGit([
      "worktree",
      "add",
      "--no-checkout",
      "--quiet",
      "--lock",
      "--reason",
      ownLockReason(owner),
      "--detach",
      path,
      base2.commit
    ], { cwd: ctx.repo.root, env: { GIT_LFS_SKIP_SMUDGE: "1" } });
    try {
      if (!ctx.excludeChecked) {
        await ensureExcluded(ctx.repo.root, ctx.repo.commonDir, ctx.worktreeDir);
        ctx.excludeChecked = true;
      }
      const now = (/* @__PURE__ */ new Date()).toISOString();
      let record;
      const ports = await allocatePorts(ctx, await ctx.registry.read());
      await ctx.registry.mutate((records) => {
        record = {
          id: slot,
          issueNumber: 0,
          path,
          branchName: "",
          baseBranch: base2.name,
          baseCommit: base2.commit,
          reusedBranch: false,
          createdAt: now,
          worktreeDir: ctx.worktreeDir,
          slot,
          ...ports ? { ports } : {},
          status: "idle",
          updatedAt: now,
          owner
        };
        return [...records, record];
      });
      return record;
    } catch (error) {
      await runGit(["worktree", "remove", "--force", "--force", path], { cwd: ctx.repo.root }).catch(() => {
      });
      await rm10(path, { recursive: true, force: true });
      throw error;
    }
  });
  await runGit(["reset", "--hard", "--quiet"], { cwd: path, signal, timeoutMs: 30 * 6e4 });
  return info;
}

// dist/manager/warnings.js
var WarningChannel = class {
  logger;
  #listeners = /* @__PURE__ */ new Set();
  constructor(logger) {
    this.logger = logger;
  }
  on(listener) {
    this.#listeners.add(listener);
  }
  off(listener) {
    this.#listeners.delete(listener);
  }
  emit(warning) {
    safeLog(this.logger, "warn", { ...warning }, warning.message);
    for (const listener of [...this.#listeners]) {
      try {
        listener(warning);
      } catch {
      }
    }
  }
};

// dist/manager/worktree-dir.js
import { realpath as realpath3, stat as stat6 } from "node:fs/promises";
import { basename as basename4, dirname as dirname10, isAbsolute as isAbsolute5, join as join26, relative as relative4, resolve as resolve5 } from "node:path";
async function resolveWorktreeDir(repo, dir) {
  if (typeof dir !== "string" || dir.trim() === "") {
    throw new MiyabiError("INVALID_ARGUMENT", "worktreeDir must be a non-empty path");
  }
  assertNoControlCharacters(dir, "worktreeDir");
  const absolute = await realpathLoose(isAbsolute5(dir) ? resolve5(dir) : resolve5(repo.root, dir));
  if (isInsideOrSame(repo.commonDir, absolute)) {
    throw new MiyabiError("INVALID_ARGUMENT", `worktreeDir ${dir} resolves into the git directory (${absolute})`, {
      hint: "Use a folder outside .git, e.g. '.worktrees' or '../worktrees'."
    });
  }
  if (isInsideOrSame(absolute, repo.root)) {
    throw new MiyabiError("INVALID_ARGUMENT", `worktreeDir ${dir} is the repository root or contains it`, {
      hint: "Use a subfolder such as '.worktrees', or a folder beside the repository."
    });
  }
  const blocker = await nonFolderOnPath(absolute);
  if (blocker) {
    throw new MiyabiError("INVALID_ARGUMENT", `worktreeDir ${dir}: ${blocker} exists and is not a folder`, {
      hint: "Point worktreeDir at a folder, or at a path that does not exist yet."
    });
  }
  const rel = relativeInside(repo.root, absolute);
  if (rel !== void 0)
    await assertNoTrackedFiles(repo.root, rel, dir);
  return absolute;
}
async function assertNoTrackedFiles(root, rel, dir) {
  const { stdout } = await runGit(["ls-files", "-z", "--", `:(literal)${rel}`], { cwd: root });
  const first = stdout.split("\0")[0];
  if (first) {
    throw new MiyabiError("INVALID_ARGUMENT", `worktreeDir ${dir} holds tracked files (${first}, ...)`, {
      hint: "Worktrees need a folder of their own: use e.g. '.worktrees' or '../worktrees'.",
      details: { worktreeDir: dir, trackedFile: first }
    });
  }
}
async function nonFolderOnPath(path) {
  for (let current = path; ; current = dirname10(current)) {
    const info = await stat6(current).catch(() => void 0);
    if (info)
      return info.isDirectory() ? void 0 : current;
    if (dirname10(current) === current)
      return void 0;
  }
}
function isInsideOrSame(parent, child) {
  const rel = relative4(parent, child);
  return rel === "" || !rel.startsWith("..") && !isAbsolute5(rel);
}
async function realpathLoose(path) {
  try {
    return await realpath3(path);
  } catch {
    const parent = dirname10(path);
    if (parent === path)
      return path;
    return join26(await realpathLoose(parent), basename4(path));
  }
}

// dist/manager/worktree-manager.js
var WorktreeManager = class _WorktreeManager {
  /** Absolute main worktree root. */
  repoPath;
  /** Absolute folder where worktrees are created. */
  worktreeDir;
  /** The configured limit of worktrees this manager holds `active` at once. */
  maxConcurrency;
  /** Default base branch (short name) for new worktrees and merges. */
  baseBranch;
  /** Branch name of an issue's worktree when none is given; `{issue}` is replaced. */
  branchPattern;
  /**
   * The repository's configuration file (`miyabi-worktree.config.json` or the `package.json` key)
   * with its defaults, as read when the manager was made; the defaults alone with `config: false`.
   */
  config;
  /** The file {@link config} came from, or `null`. */
  configSource;
  /** What a person should know about the configuration (e.g. a shadowed `package.json` key); also logged. */
  configWarnings;
  /** Folder in the git common dir where this tool keeps its registry, telemetry and logs. */
  stateDir;
  #ctx;
  constructor(ctx) {
    this.#ctx = ctx;
    this.repoPath = ctx.repo.root;
    this.worktreeDir = ctx.worktreeDir;
    this.maxConcurrency = ctx.slots.capacity;
    this.baseBranch = ctx.defaultBase.name;
    this.branchPattern = ctx.branchPattern;
    this.config = ctx.config.config;
    this.configSource = ctx.config.source;
    this.configWarnings = ctx.config.warnings;
    this.stateDir = ctx.repo.stateDir;
  }
  /** Finds the repository from `cwd` (default `process.cwd()`), from any subfolder or linked worktree. */
  static async discover(options = {}) {
    return _WorktreeManager.#build(options.cwd ?? process.cwd(), options);
  }
  /** Opens the repository at `repoPath` (any folder inside it). */
  static async open(options) {
    if (!options || typeof options.repoPath !== "string" || options.repoPath === "") {
      throw new MiyabiError("INVALID_ARGUMENT", "open() needs repoPath: a folder inside a git repository");
    }
    return _WorktreeManager.#build(options.repoPath, options);
  }
  static async #build(cwd, options) {
    if (options.maxConcurrency !== void 0)
      assertPositiveInteger(options.maxConcurrency, "maxConcurrency");
    if (options.branchPattern !== void 0)
      assertBranchPattern(options.branchPattern);
    if (options.config !== void 0 && typeof options.config !== "boolean") {
      throw new MiyabiError("INVALID_ARGUMENT", `config must be true or false, got ${describe(options.config)}`, {
        hint: "Leave it out to read the configuration file, or pass config: false to ignore it."
      });
    }
    const logger = options.logger ?? silentLogger;
    const repo = await discoverRepository(cwd);
    const loaded = options.config === false ? NO_CONFIG : await loadConfig(repo.root);
    for (const warning of loaded.warnings)
      safeLog(logger, "warn", { source: loaded.source }, warning);
    const file = loaded.config;
    const maxConcurrency = options.maxConcurrency ?? file.maxConcurrency ?? 3;
    const worktreeDir = await resolveWorktreeDir(repo, options.worktreeDir ?? file.worktreeDir ?? ".worktrees");
    const defaultBase = await resolveBase(repo, options.baseBranch, file.baseBranch, loaded.source);
    const warnings = new WarningChannel(logger);
    const ctx = {
      repo,
      worktreeDir,
      defaultBase,
      branchPattern: options.branchPattern ?? file.branchPattern,
      config: loaded,
      lock: new RepoLock(repo.stateDir, { logger }),
      registry: new Registry(repo.stateDir, logger, (warning) => warnings.emit(warning)),
      slots: new Slots(maxConcurrency),
      heldSlots: /* @__PURE__ */ new Map(),
      telemetry: new Telemetry({ dir: repo.stateDir, logger }),
      logger,
      warnings,
      excludeChecked: false
    };
    return new _WorktreeManager(ctx);
  }
  /**
   * Creates a worktree for `issueNumber` on branch `feature/issue-<n>` (or `branchName`), from the
   * base branch. Waits for a free slot when `maxConcurrency` worktrees are active; rejects with
   * `CANCELLED` (creating nothing) if `signal` aborts. Reuses an existing branch no worktree has
   * checked out; `BRANCH_IN_USE` if one has.
   */
  createWorktree(issueNumber, options) {
    return createWorktree(this.#ctx, issueNumber, options);
  }
  /**
   * Hands a finished task's reusable worktree (made with `createWorktree(n, { reuse: true })`) back
   * as `idle` for the next task: its work saved exactly as `removeWorktree` saves it (archive, then
   * the branch policy), files reset to its base commit (detached) but `keepPaths`. A worktree that
   * is not reusable, or beyond `maxIdle`, is removed instead (see `removed` in the result).
   */
  idleWorktree(id, options) {
    return idleWorktree(this.#ctx, id, options);
  }
  /**
   * Pre-creates idle reusable worktrees until `count` are idle (at most `maxIdle`), so that the next
   * `createWorktree(n, { reuse: true })` only switches branch. Returns those this call created.
   */
  warmWorktrees(count, options) {
    return warmWorktrees(this.#ctx, count, options);
  }
  /** The worktree with this id; `NOT_FOUND` if this tool has no such live worktree. */
  async getWorktree(id) {
    assertWorktreeId(id);
    const found = (await this.listWorktrees()).find((w) => w.id === id);
    if (!found) {
      throw new MiyabiError("NOT_FOUND", `no worktree with id '${id}'`, { details: { id } });
    }
    return found;
  }
  /** Worktrees this tool created (in any process), oldest first; vanished ones are reconciled away. */
  listWorktrees() {
    return listWorktrees(this.#ctx);
  }
  /**
   * Sets a worktree's status. Leaving `active` frees this manager's slot; returning to `active`
   * waits for one.
   */
  async updateStatus(id, status) {
    assertWorktreeId(id);
    assertStatus(status);
    const current = (await this.#ctx.registry.read()).find((w) => w.id === id);
    if (!current)
      throw new MiyabiError("NOT_FOUND", `no worktree with id '${id}'`, { details: { id } });
    if (status === "active" && current.status !== "active" && !this.#ctx.heldSlots.has(id)) {
      this.#ctx.heldSlots.set(id, await this.#ctx.slots.acquire());
    }
    let updated;
    await this.#ctx.lock.run(() => this.#ctx.registry.mutate((records) => records.map((record) => {
      if (record.id !== id)
        return record;
      updated = { ...record, status, updatedAt: (/* @__PURE__ */ new Date()).toISOString() };
      return updated;
    })));
    if (status !== "active")
      releaseSlot(this.#ctx, id);
    if (!updated) {
      releaseSlot(this.#ctx, id);
      throw new MiyabiError("NOT_FOUND", `worktree '${id}' was removed meanwhile`, { details: { id } });
    }
    return updated;
  }
  /**
   * Pushes the worktree's branch to `remote` (default `origin`) and records it as upstream.
   * `NO_REMOTE`, `PUSH_REJECTED` (git's reason in the hint) or `GIT_FAILED` when it cannot.
   */
  pushWorktree(id, options) {
    return pushWorktree(this.#ctx, id, options);
  }
  /**
   * Merges the worktree's branch into `into` (default: its base branch) without touching any
   * checkout's branch: computed with `git merge-tree`, committed with `commit-tree`, the target moved
   * with compare-and-swap; a checkout of the target is fast-forwarded only when that is clean for it
   * (else `CHECKOUT_DIRTY`, nothing changed). Conflicts: `MERGE_CONFLICT` with `conflicts`, nothing
   * changed. Concurrent merges into one target serialise and all land. Only committed work is merged.
   */
  mergeWorktree(id, options) {
    return mergeWorktree(this.#ctx, id, options);
  }
  /**
   * Removes a worktree without losing work: uncommitted changes (tracked and untracked, not
   * ignored) and commits in no base or remote branch are saved under `refs/miyabi/archive/<id>`
   * first (see `archived` in the result; `restoreWorktree` brings it back). The branch is deleted
   * only when nothing on it would be lost. `force: true` is the old destructive behaviour: no archive.
   */
  removeWorktree(id, options) {
    return removeWorktree(this.#ctx, id, options);
  }
  /**
   * Recreates a worktree removed with an archive: same branch (recreated at the archived commit if
   * it was deleted), archived uncommitted files back in place. Returns the new worktree (new id).
   */
  restoreWorktree(id, options) {
    return restoreWorktree(this.#ctx, id, options);
  }
  /**
   * Removes every worktree this tool created (safely, as `removeWorktree`), reconciles vanished
   * ones and reclaims what crashed processes left. Never touches worktrees this tool did not
   * create, nor `active` worktrees of other live processes. `dryRun` only reports.
   */
  cleanupAll(options) {
    return cleanupAll(this.#ctx, options);
  }
  /** Counts by status and this manager's slot usage. */
  async stats() {
    const worktrees = await this.listWorktrees();
    const byStatus = countByStatus(worktrees.map((worktree) => worktree.status));
    return {
      total: worktrees.length,
      byStatus,
      maxConcurrency: this.maxConcurrency,
      availableSlots: this.#ctx.slots.available,
      waiting: this.#ctx.slots.waiting
    };
  }
  /**
   * Counts over every process's history of this repository (or a `since` / `batchId` scope):
   * creates, executions and their outcomes, cleanups, errors, durations. `successRate` is 0–100.
   */
  telemetryStats(scope) {
    return this.#ctx.telemetry.stats(scope);
  }
  /** The human-readable seven-line report, English by default or `locale: 'ja'`. */
  telemetryReport(options) {
    return this.#ctx.telemetry.report(options);
  }
  /** Waits until every event recorded so far is in the shared journal (call before exiting). */
  flush() {
    return this.#ctx.telemetry.flush();
  }
  /**
   * Records a lifecycle event as if this manager had: it reaches the listeners, the shared journal
   * (so `telemetryStats` and the report count it), the logger and OpenTelemetry. The pool records
   * its execute and task events this way; an executor of your own can too. Returns the stamped event.
   */
  recordEvent(event) {
    return this.#ctx.telemetry.record(event);
  }
  /** Batch ids the telemetry journal knows, least recent first. */
  telemetryBatches() {
    return this.#ctx.telemetry.batches();
  }
  /** The retained raw telemetry events of every process (older ones live on as counts), oldest first. */
  telemetryEvents(scope) {
    return this.#ctx.telemetry.events(scope);
  }
  /**
   * Copies the ignored files `.worktreeinclude` lists from the main checkout into the worktree, then
   * runs the `setup` commands in it (no shell, in order, within `setupTimeoutMs`); each setting
   * defaults to the configuration file's. Records `setup-start` / `setup-complete` (or `error`).
   *
   * @throws MiyabiError `COMMAND_FAILED` or `TIMEOUT` naming the setup command, with its last lines;
   * `CANCELLED` when `signal` aborts; `NOT_FOUND` for an unknown id.
   */
  prepareWorktree(id, options) {
    return prepareWorktreeOf(this.#ctx, id, options);
  }
  /**
   * Merges the target branch (default: the base) into the worktree's own branch, in the worktree, so
   * a conflict can be resolved there, never in your checkout: `already-merged`, `clean` (committed),
   * or `conflicted` (the merge is left in progress; `conflicts` lists the paths, `conflictsFile` has
   * them one per line). Then resolve, commit, {@link verifyResolution} and `mergeWorktree` again.
   */
  mergeTargetIntoWorktree(id, options) {
    return mergeTargetIntoWorktree(this.#ctx, id, options);
  }
  /** `CONFLICT_UNRESOLVED` unless the merge is committed and no markers remain in `conflicts`. */
  verifyResolution(id, options) {
    return verifyResolution(this.#ctx, id, options);
  }
  /** Paths with uncommitted changes in the worktree (tracked and untracked, not ignored), sorted. */
  async uncommittedPaths(id, options = {}) {
    const record = await liveRecord(this.#ctx, id);
    return uncommittedPaths(record.path, options.signal);
  }
  /** Every archive of a removed worktree (`refs/miyabi/archive/<id>`), oldest first; restoring consumes none. */
  listArchives(options = {}) {
    return listArchives(this.#ctx.repo.root, options.signal);
  }
  /**
   * Deletes an archive you no longer need. One that is the only ref to work (uncommitted files, or
   * commits no branch, tag or remote branch contains) is refused with `UNMERGED_WORK` unless `force`.
   */
  dropArchive(id, options) {
    return dropArchive(this.#ctx.repo.root, id, options);
  }
  on(name, listener) {
    if (name === "warning")
      this.#ctx.warnings.on(listener);
    else
      this.#ctx.telemetry.on(name, listener);
    return this;
  }
  off(name, listener) {
    if (name === "warning")
      this.#ctx.warnings.off(listener);
    else
      this.#ctx.telemetry.off(name, listener);
    return this;
  }
  once(name, listener) {
    this.#ctx.telemetry.once(name, listener);
    return this;
  }
  /** Alias of {@link on}, for `node:events` helpers. */
  addListener(name, listener) {
    return this.on(name, listener);
  }
  /** Alias of {@link off}, for `node:events` helpers. */
  removeListener(name, listener) {
    return this.off(name, listener);
  }
};
var NO_CONFIG = { config: DEFAULT_CONFIG, source: null, warnings: [] };
async function resolveBase(repo, option, fromFile, source) {
  if (option !== void 0 || fromFile === void 0)
    return resolveDefaultBase(repo, option);
  try {
    return await resolveDefaultBase(repo, fromFile);
  } catch (error) {
    if (!isMiyabiError(error, "NOT_FOUND"))
      throw error;
    throw new MiyabiError("INVALID_CONFIG", `${basename5(source ?? "config")}: baseBranch: ${error.message}`, {
      hint: error.hint,
      cause: error,
      details: { file: source, baseBranch: fromFile }
    });
  }
}
function assertBranchPattern(pattern) {
  const problem = branchPatternProblem(pattern);
  if (problem) {
    throw new MiyabiError("INVALID_ARGUMENT", `branchPattern ${describe(pattern)} ${problem}`, {
      hint: "Pass a pattern like 'feature/issue-{issue}'."
    });
  }
}

// dist/pool/task-outcome.js
var TaskAbort = class extends Error {
  kind;
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
};
function fail(progress, stage, error, signal) {
  progress.stage = stage;
  const reason2 = signal?.aborted ? signal.reason : void 0;
  if (reason2 instanceof TaskAbort && reason2.kind === "timeout") {
    progress.status = "timeout";
    progress.error = { message: reason2.message, code: "TIMEOUT" };
  } else if (signal?.aborted || isMiyabiError(error, "CANCELLED")) {
    progress.status = "cancelled";
    progress.error = describeError(error, signal);
  } else {
    progress.status = isMiyabiError(error, "TIMEOUT") ? "timeout" : "failed";
    progress.error = describeError(error, void 0);
  }
}
function classify(outcome, signal) {
  if (signal.aborted) {
    const reason2 = signal.reason;
    if (reason2 instanceof TaskAbort && reason2.kind === "timeout") {
      return { status: "timeout", error: { message: reason2.message, code: "TIMEOUT" } };
    }
    return { status: "cancelled", error: { message: abortMessage(reason2), code: "CANCELLED" } };
  }
  if (outcome.kind === "value")
    return { status: "success", output: outcome.value };
  if (outcome.kind === "error")
    return { status: "failed", error: describeError(outcome.error, void 0) };
  return { status: "failed", error: { message: "executor was abandoned" } };
}
function abortMessage(reason2) {
  if (reason2 instanceof Error)
    return reason2.message;
  return reason2 === void 0 ? "aborted" : String(reason2);
}
function describeError(error, signal) {
  if (signal?.aborted && !(isMiyabiError(error) && error.code !== "CANCELLED")) {
    return { message: abortMessage(signal.reason), code: "CANCELLED" };
  }
  const err = toError(error);
  if (err instanceof MiyabiError) {
    return {
      message: err.message,
      code: err.code,
      hint: err.hint,
      ...err.conflicts ? { conflicts: err.conflicts.map((conflict) => conflict.path) } : {}
    };
  }
  const code = err.code;
  return { message: err.message, ...typeof code === "string" ? { code } : {} };
}

// dist/pool/worktree-pool.js
import { randomBytes as randomBytes2 } from "node:crypto";
import { isAbsolute as isAbsolute6, join as join28, resolve as resolve6 } from "node:path";
import PQueue3 from "p-queue";

// dist/pool/prune-logs.js
import { readdir as readdir8, rm as rm11, stat as stat7 } from "node:fs/promises";
import { join as join27 } from "node:path";
var BATCH_FOLDER = /^batch-[a-z0-9]+-[0-9a-f]+$/;
async function pruneBatchLogs(logDir, keep) {
  const names = await readdir8(logDir).catch(() => []);
  const batches = await Promise.all(names.filter((name) => BATCH_FOLDER.test(name)).map(async (name) => ({
    name,
    mtime: (await stat7(join27(logDir, name)).catch(() => void 0))?.mtimeMs
  })));
  const dated = batches.filter((b) => b.mtime !== void 0);
  dated.sort((a, b) => b.mtime - a.mtime || b.name.localeCompare(a.name));
  const doomed = dated.slice(Math.max(0, keep - 1)).map((b) => join27(logDir, b.name));
  await Promise.all(doomed.map((path) => rm11(path, { recursive: true, force: true }).catch(() => {
  })));
  return doomed;
}

// dist/pool/run-task.js
import { appendFile as appendFile3 } from "node:fs/promises";

// dist/telemetry/otel-spans.js
var SPAN_NAMES = Object.freeze({
  task: "miyabi.task",
  create: "miyabi.task.create",
  execute: "miyabi.task.execute",
  cleanup: "miyabi.task.cleanup"
});
function startTaskSpan(options) {
  const api2 = otelApi();
  if (!api2)
    return noopTaskSpan();
  const { context, trace } = api2;
  const tracer = trace.getTracer(INSTRUMENTATION_NAME);
  const span = tracer.startSpan(SPAN_NAMES.task, {
    attributes: {
      [ATTRIBUTES.issueNumber]: options.issueNumber,
      ...options.branch !== void 0 ? { [ATTRIBUTES.branch]: options.branch } : {},
      ...options.batchId !== void 0 ? { [ATTRIBUTES.batchId]: options.batchId } : {},
      ...options.attributes
    }
  }, options.parent ?? context.active());
  const taskContext = trace.setSpan(options.parent ?? context.active(), span);
  let ended = false;
  const child = (step, attributes) => {
    const stepSpan = tracer.startSpan(SPAN_NAMES[step], { attributes: { [ATTRIBUTES.issueNumber]: options.issueNumber, ...attributes } }, taskContext);
    let stepEnded = false;
    return {
      span: stepSpan,
      context: trace.setSpan(taskContext, stepSpan),
      end(error) {
        if (stepEnded)
          return;
        stepEnded = true;
        if (error !== void 0)
          markError(api2, stepSpan, error);
        stepSpan.end();
      }
    };
  };
  return {
    span,
    context: taskContext,
    setWorktree(worktree) {
      span.setAttribute(ATTRIBUTES.worktreeId, worktree.id);
      if (worktree.branchName !== void 0)
        span.setAttribute(ATTRIBUTES.branch, worktree.branchName);
    },
    child,
    async step(step, fn) {
      const stepSpan = child(step);
      try {
        const value = await fn(stepSpan);
        stepSpan.end();
        return value;
      } catch (error) {
        stepSpan.end(error ?? new Error("undefined thrown"));
        throw error;
      }
    },
    end(outcome, error) {
      if (ended)
        return;
      ended = true;
      span.setAttribute(ATTRIBUTES.outcome, outcome);
      if (outcome === "success")
        span.setStatus({ code: api2.SpanStatusCode.OK });
      else
        markError(api2, span, error ?? outcome);
      span.end();
    }
  };
}
function markError(api2, span, error) {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error)
    span.recordException(error);
  span.setStatus({ code: api2.SpanStatusCode.ERROR, message });
}
var NOOP_SPAN = {
  spanContext: () => ({ traceId: "0".repeat(32), spanId: "0".repeat(16), traceFlags: 0 }),
  setAttribute: () => NOOP_SPAN,
  setAttributes: () => NOOP_SPAN,
  addEvent: () => NOOP_SPAN,
  addLink: () => NOOP_SPAN,
  addLinks: () => NOOP_SPAN,
  setStatus: () => NOOP_SPAN,
  updateName: () => NOOP_SPAN,
  end: () => {
  },
  isRecording: () => false,
  recordException: () => {
  }
};
var NOOP_CONTEXT = {
  getValue: () => void 0,
  setValue: () => NOOP_CONTEXT,
  deleteValue: () => NOOP_CONTEXT
};
function noopTaskSpan() {
  const step = { span: NOOP_SPAN, context: NOOP_CONTEXT, end: () => {
  } };
  return {
    span: NOOP_SPAN,
    context: NOOP_CONTEXT,
    setWorktree: () => {
    },
    child: () => step,
    step: (_step, fn) => fn(step),
    end: () => {
    }
  };
}

// dist/pool/follow-ups.js
async function merge(run, worktree, progress, signal) {
  const options = run.merge ?? {};
  try {
    const merged = await run.manager.mergeWorktree(worktree.id, { ...options, signal, batchId: run.batchId });
    progress.merge = merged;
    if (merged.status !== "up-to-date")
      return;
    const paths = await run.manager.uncommittedPaths(worktree.id, { signal });
    if (paths.length === 0)
      return;
    progress.uncommitted = paths;
    const error = new MiyabiError("NOTHING_COMMITTED", `nothing to merge: the task committed nothing but left ${paths.length} changed file(s) (${preview(paths)})`);
    run.manager.recordEvent({
      type: "error",
      worktreeId: worktree.id,
      issueNumber: worktree.issueNumber,
      branch: worktree.branchName,
      batchId: run.batchId,
      operation: "merge",
      code: error.code,
      message: error.message
    });
    fail(progress, "merge", error, signal);
  } catch (error) {
    fail(progress, "merge", error, signal);
  }
}
function isConflict(progress) {
  return progress.stage === "merge" && (progress.error?.code === "MERGE_CONFLICT" || progress.error?.code === "CONFLICT_UNRESOLVED");
}
async function push(run, worktree, progress, signal) {
  try {
    progress.push = await run.manager.pushWorktree(worktree.id, {
      remote: run.push?.remote ?? "origin",
      signal,
      batchId: run.batchId
    });
  } catch (error) {
    fail(progress, "push", error, signal);
  }
}
async function pullRequest(run, worktree, progress, signal, durationMs) {
  const { options, client } = run.pullRequest;
  const { task } = run;
  try {
    const lastLines2 = outputLastLines(progress.output);
    progress.pr = await openWorktreePullRequest(worktree, {
      client,
      repo: options.repo,
      ...task.context ? { issue: task.context } : {},
      ...task.description ? { fallbackTitle: task.description } : {},
      ...options.draft !== void 0 ? { draft: options.draft } : {},
      ...options.reviewers ? { reviewers: options.reviewers } : {},
      ...options.labels ? { labels: options.labels } : {},
      durationMs,
      ...lastLines2 !== void 0 ? { lastLines: lastLines2 } : {},
      signal
    });
  } catch (error) {
    const details2 = isMiyabiError(error) ? error.details : void 0;
    if (details2 && typeof details2.url === "string" && typeof details2.number === "number") {
      progress.pr = { url: details2.url, number: details2.number, created: details2.created === true };
    }
    fail(progress, "pr", error, signal);
  }
}
function outputLastLines(output) {
  if (typeof output !== "object" || output === null || !("lastLines" in output))
    return void 0;
  const lines = output.lastLines;
  return typeof lines === "string" ? lines : Array.isArray(lines) ? lines.map(String).join("\n") : void 0;
}
function preview(paths) {
  return paths.length > 3 ? `${paths.slice(0, 3).join(", ")}, \u2026` : paths.join(", ");
}

// dist/pool/settle-executor.js
async function settleExecutor(executor, run, worktree, context, setOutput) {
  const { signal } = context;
  const execution = Promise.resolve().then(() => executor(worktree, run.task, {
    signal,
    worktree,
    task: run.task,
    batchId: run.batchId,
    timeoutMs: run.timeoutMs,
    logFile: run.logFile,
    env: context.env,
    conflicts: context.conflicts ?? [],
    setOutput
  })).then((value) => ({ kind: "value", value }), (error) => ({ kind: "error", error }));
  let graceTimer;
  let onAbort;
  const abandoned = new Promise((resolve7) => {
    onAbort = () => {
      graceTimer = setTimeout(() => resolve7({ kind: "abandoned" }), run.abortGraceMs);
    };
    if (signal.aborted)
      onAbort();
    else
      signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([execution, abandoned]);
  } finally {
    clearTimeout(graceTimer);
    if (onAbort)
      signal.removeEventListener("abort", onAbort);
  }
}

// dist/pool/resolve-conflict.js
async function resolveConflict(run, worktree, progress, context) {
  const { signal, policy } = context;
  const attempts = [];
  progress.resolveAttempts = attempts;
  const seen = /* @__PURE__ */ new Set();
  for (let attempt = 1; attempt <= (policy.attempts ?? 1) && !signal.aborted; attempt++) {
    const started = performance.now();
    let conflicts = [];
    try {
      const checkout = await run.manager.mergeTargetIntoWorktree(worktree.id, {
        ...run.merge?.into !== void 0 ? { into: run.merge.into } : {},
        signal
      });
      conflicts = checkout.conflicts;
      if (checkout.status === "conflicted") {
        const outcome = await settleExecutor(policy.resolve, run, worktree, { signal, env: { ...context.env, MIYABI_CONFLICTS: checkout.conflictsFile }, conflicts }, () => {
        });
        if (outcome.kind === "error")
          throw outcome.error;
        if (outcome.kind === "abandoned" || signal.aborted)
          throw signal.reason ?? new Error("resolver abandoned");
      }
      for (const path of conflicts)
        seen.add(path);
      await run.manager.verifyResolution(worktree.id, { conflicts: [...seen], signal });
    } catch (error) {
      fail(progress, "merge", error, signal);
      attempts.push(attemptOf(attempt, conflicts, started, progress.error));
      continue;
    }
    progress.status = "success";
    progress.stage = void 0;
    progress.error = void 0;
    await merge(run, worktree, progress, signal);
    attempts.push(attemptOf(attempt, conflicts, started, progress.status === "success" ? void 0 : progress.error));
    if (progress.status === "success")
      return;
  }
}
function attemptOf(attempt, conflicts, started, error) {
  return {
    attempt,
    conflicts,
    outcome: error ? "failed" : "resolved",
    durationMs: Math.round(performance.now() - started),
    ...error ? { error } : {}
  };
}

// dist/pool/run-task.js
async function runTask(run) {
  const started = performance.now();
  const { manager, task, batchId } = run;
  const elapsed = () => Math.round(performance.now() - started);
  if (run.batchSignal.aborted) {
    const error = { message: `not started: ${abortMessage(run.batchSignal.reason)}`, code: "CANCELLED" };
    return finish(run, { status: "cancelled", stage: "create", error }, void 0, elapsed());
  }
  const controller = new AbortController();
  const { signal } = controller;
  const onBatchAbort = () => controller.abort(run.batchSignal.reason);
  run.batchSignal.addEventListener("abort", onBatchAbort, { once: true });
  const span = startTaskSpan({
    issueNumber: task.issueNumber,
    batchId,
    ...task.agentType ? { attributes: { "miyabi.agent.type": task.agentType } } : {}
  });
  const progress = { status: "success" };
  let worktree;
  let timer;
  try {
    const createSpan = span.child("create");
    try {
      worktree = await manager.createWorktree(task.issueNumber, {
        signal,
        batchId,
        existingBranch: run.existingBranches === "restart" ? "restart" : "reuse",
        ...task.branchName !== void 0 ? { branchName: task.branchName } : {},
        ...task.baseBranch !== void 0 ? { baseBranch: task.baseBranch } : {},
        ...run.reuse ? { reuse: true, keepPaths: run.reuse.keepPaths } : {}
      });
      createSpan.end();
    } catch (error) {
      createSpan.end(error);
      fail(progress, "create", error, signal);
      return finish(run, progress, void 0, elapsed());
    }
    run.onWorktree(worktree, "active");
    span.setWorktree({ id: worktree.id, branchName: worktree.branchName });
    const env = { ...worktreeEnvironment(worktree, batchId), MIYABI_CONFLICTS: "" };
    timer = setTimeout(() => controller.abort(new TaskAbort("timeout", `timed out after ${run.timeoutMs} ms`)), run.timeoutMs);
    await startLog(run.logFile, worktree);
    if (needsPreparation(manager.repoPath, run.prepare)) {
      try {
        progress.prepare = await manager.prepareWorktree(worktree.id, {
          ...run.prepare,
          signal,
          batchId,
          logFile: run.logFile
        });
      } catch (error) {
        fail(progress, "setup", error, signal);
      }
    }
    let outcome;
    if (progress.status === "success") {
      outcome = await execute(run, worktree, progress, { signal, env, span });
    }
    if (progress.status === "success" && run.merge) {
      await merge(run, worktree, progress, signal);
      if (isConflict(progress) && typeof run.onConflict === "object") {
        await resolveConflict(run, worktree, progress, { signal, env, policy: run.onConflict });
      }
    }
    if (progress.status === "success" && run.push)
      await push(run, worktree, progress, signal);
    if (progress.status === "success" && run.pullRequest) {
      await pullRequest(run, worktree, progress, signal, elapsed());
    }
    clearTimeout(timer);
    const finalStatus = progress.status === "success" ? "completed" : "failed";
    const metConflict2 = isConflict(progress) || (progress.resolveAttempts?.length ?? 0) > 0;
    const keepConflict = progress.stage === "merge" && metConflict2 && run.onConflict !== "remove";
    const abandoned = outcome?.kind === "abandoned";
    const keep = !run.autoCleanup || keepConflict || abandoned;
    const marked = keep ? await manager.updateStatus(worktree.id, finalStatus).catch((error) => {
      if (progress.status === "success")
        fail(progress, "cleanup", error, void 0);
      return void 0;
    }) : { ...worktree, status: finalStatus };
    if (marked)
      run.onWorktree(marked, marked.status);
    if (keep || !marked) {
      if (abandoned) {
        const message = `${progress.error?.message ?? "abandoned"}; the executor did not stop within ${run.abortGraceMs} ms, so its worktree was kept (reclaim it with cleanupAll)`;
        progress.error = { ...progress.error, message };
      }
      return finish(run, progress, worktree, elapsed());
    }
    try {
      const id = worktree.id;
      if (run.reuse) {
        const { keepPaths, maxIdle } = run.reuse;
        const handed = await span.step("cleanup", () => manager.idleWorktree(id, { keepPaths, maxIdle, batchId }));
        run.onWorktree(marked, "removed");
        return finish(run, progress, worktree, elapsed(), {
          cleanedUp: handed.idle !== null || (handed.removed?.worktreeRemoved ?? false),
          keptIdle: handed.idle !== null,
          ...handed.archived ? { archiveRef: handed.archived.ref } : {},
          archivedPaths: handed.archived?.uncommittedPaths ?? []
        });
      }
      const removed = await span.step("cleanup", () => manager.removeWorktree(id, { batchId }));
      run.onWorktree(marked, "removed");
      return finish(run, progress, worktree, elapsed(), {
        cleanedUp: removed.worktreeRemoved,
        ...removed.archived ? { archiveRef: removed.archived.ref } : {},
        archivedPaths: removed.archived?.uncommittedPaths ?? []
      });
    } catch (cleanupError) {
      if (progress.status === "success")
        fail(progress, "cleanup", cleanupError, void 0);
      const kept = await manager.updateStatus(worktree.id, "failed").catch(() => void 0);
      if (kept)
        run.onWorktree(kept, kept.status);
      return finish(run, progress, worktree, elapsed());
    }
  } finally {
    clearTimeout(timer);
    run.batchSignal.removeEventListener("abort", onBatchAbort);
    span.end(progress.status, progress.error ? new Error(progress.error.message) : void 0);
  }
}
async function execute(run, worktree, progress, context) {
  const { manager, task, batchId } = run;
  const eventBase = {
    worktreeId: worktree.id,
    issueNumber: task.issueNumber,
    branch: worktree.branchName,
    batchId
  };
  const execStarted = performance.now();
  manager.recordEvent({ type: "execute-start", ...eventBase });
  const executeSpan = context.span.child("execute");
  const outcome = await settleExecutor(run.executor, run, worktree, context, (output) => {
    progress.output = output;
  });
  const classified = classify(outcome, context.signal);
  executeSpan.end(classified.error ? new Error(classified.error.message) : void 0);
  if (classified.output !== void 0)
    progress.output = classified.output;
  manager.recordEvent({
    type: "execute-complete",
    ...eventBase,
    durationMs: Math.round(performance.now() - execStarted),
    success: classified.status === "success",
    status: classified.status
  });
  if (classified.error) {
    progress.status = classified.status;
    progress.stage = "execute";
    progress.error = classified.error;
    if (classified.status !== "cancelled") {
      manager.recordEvent({
        type: "error",
        ...eventBase,
        operation: "execute",
        message: classified.error.message,
        ...classified.error.code !== void 0 ? { code: classified.error.code } : {}
      });
    }
  }
  return outcome;
}
function finish(run, progress, worktree, durationMs, removal) {
  const archivedPaths = removal?.archivedPaths ?? [];
  const unmergedPaths = archivedPaths.length > 0 ? archivedPaths : progress.uncommitted ?? [];
  const unmergedWork = unmergedPaths.length > 0 ? {
    paths: unmergedPaths,
    ...archivedPaths.length > 0 && removal?.archiveRef ? { archiveRef: removal.archiveRef } : {}
  } : void 0;
  const fields = {
    issueNumber: run.task.issueNumber,
    worktreeId: worktree?.id ?? "",
    durationMs,
    ...progress.output !== void 0 ? { output: progress.output } : {},
    ...worktree ? { worktreePath: worktree.path, branchName: worktree.branchName, logFile: run.logFile } : {},
    ...worktree?.staleBranch ? { staleBranch: worktree.staleBranch } : {},
    ...progress.prepare ? { prepare: progress.prepare } : {},
    ...progress.merge ? { merge: progress.merge } : {},
    ...progress.push ? { push: progress.push } : {},
    ...progress.pr ? { pr: progress.pr } : {},
    ...unmergedWork ? { unmergedWork } : {},
    ...progress.resolveAttempts ? { resolveAttempts: progress.resolveAttempts } : {},
    cleanedUp: removal?.cleanedUp ?? false,
    ...run.reuse && worktree ? { reusedWorktree: (worktree.reuses ?? 0) > 0 } : {},
    ...removal?.keptIdle ? { keptIdle: true } : {},
    ...removal?.archiveRef ? { archiveRef: removal.archiveRef } : {}
  };
  const result = progress.status === "success" ? { ...fields, status: "success" } : {
    ...fields,
    status: progress.status,
    stage: progress.stage ?? "execute",
    error: progress.error ?? { message: progress.status }
  };
  if (worktree) {
    run.manager.recordEvent({
      type: "task-complete",
      worktreeId: worktree.id,
      issueNumber: run.task.issueNumber,
      branch: worktree.branchName,
      batchId: run.batchId,
      durationMs,
      status: result.status,
      ...result.stage !== void 0 ? { stage: result.stage } : {},
      ...result.error?.code !== void 0 ? { code: result.error.code } : {},
      ...progress.pr ? { pullRequest: progress.pr.url } : {},
      ...progress.resolveAttempts?.length ? { conflict: result.status === "success" ? "resolved" : "unresolved" } : {}
    });
  }
  return result;
}
async function startLog(logFile, worktree) {
  await openLogFile(logFile);
  await appendFile3(logFile, `# miyabi-worktree: issue ${worktree.issueNumber}, worktree ${worktree.id}, branch ${worktree.branchName}
# in ${worktree.path}
`);
}

// dist/pool/summarise.js
function summarise(batchId, results, totalDurationMs) {
  const count = (status) => results.filter((r) => r.status === status).length;
  const successCount = count("success");
  return {
    batchId,
    totalTasks: results.length,
    results,
    totalDurationMs,
    successCount,
    failedCount: count("failed"),
    timeoutCount: count("timeout"),
    cancelledCount: count("cancelled"),
    allSuccessful: successCount === results.length,
    successRate: results.length === 0 ? 0 : successCount / results.length * 100,
    conflicts: {
      met: results.filter(metConflict).length,
      resolved: results.filter((r) => r.status === "success" && metConflict(r)).length
    }
  };
}
function metConflict(result) {
  return (result.resolveAttempts?.length ?? 0) > 0 || result.error?.code === "MERGE_CONFLICT";
}

// dist/pool/validate-batch.js
async function validateBatch(manager, tasks, config, signal) {
  if (config.reuse)
    await refuseTrackedKeepPaths(manager.repoPath, config.keepPaths, signal);
  const shared = config.prepare.share.map((entry) => entry.path);
  if (shared.length > 0)
    await refuseTrackedKeepPaths(manager.repoPath, shared, signal, "share");
  const branches = /* @__PURE__ */ new Map();
  if (config.merge) {
    if (config.merge.into !== void 0)
      branches.set(config.merge.into, "merge.into");
    else {
      for (const task of tasks) {
        const base2 = shortBase(task.baseBranch ?? manager.baseBranch);
        if (!branches.has(base2))
          branches.set(base2, `the base branch of issue ${task.issueNumber} (merge target)`);
      }
    }
  }
  await verifyFollowUpTargets(manager.repoPath, { branches, ...config.push ? { remote: config.push.remote ?? "origin" } : {} }, signal);
}
async function refuseTrackedKeepPaths(repoPath, keepPaths, signal, option = "keepPaths") {
  if (keepPaths.length === 0)
    return;
  const { stdout } = await runGit(["ls-files", "-z", "--", ...keepPaths.map((path) => `:(literal)${path}`)], {
    cwd: repoPath,
    signal
  });
  const tracked = keepPaths.filter((path) => stdout.split("\0").some((file) => file === path || file.startsWith(`${path}/`)));
  if (tracked.length > 0) {
    throw new MiyabiError("INVALID_ARGUMENT", `${option}: ${tracked.join(", ")} is tracked by git`, {
      hint: "Name only ignored folders (dependencies, build output): tracked files come with the checkout.",
      details: { option, paths: tracked }
    });
  }
}
function shortBase(base2) {
  return base2.replace(/^refs\/heads\//, "").replace(/^refs\/remotes\/[^/]+\//, "").replace(/^origin\//, "");
}

// dist/pool/worktree-pool.js
var MERGE_STRATEGIES = ["merge", "squash", "ff-only"];
var DEFAULTS = {
  maxConcurrency: 3,
  timeoutMs: 18e5,
  failFast: false,
  autoCleanup: true,
  abortGraceMs: 5e3,
  logRetention: DEFAULT_LOG_RETENTION
};
var WorktreePool = class _WorktreePool {
  manager;
  /** The options in force: yours, else the manager's configuration file's, else the defaults. */
  config;
  #queue;
  #worktrees = /* @__PURE__ */ new Map();
  #github;
  constructor(manager, config = {}) {
    if (!(manager instanceof WorktreeManager)) {
      throw new MiyabiError("INVALID_ARGUMENT", `WorktreePool needs a WorktreeManager, got ${describe(manager)}`, {
        hint: "Use WorktreePool.create({ cwd }) or new WorktreePool(await WorktreeManager.discover())."
      });
    }
    this.manager = manager;
    const resolved = validateConfig(config, manager.config);
    const logDir = resolved.logDir === "" ? join28(manager.stateDir, "logs") : resolved.logDir;
    this.config = { ...resolved, logDir: isAbsolute6(logDir) ? logDir : resolve6(manager.repoPath, logDir) };
    this.#queue = new PQueue3({ concurrency: this.config.maxConcurrency });
  }
  /** Opens the repository (from `repoPath`, else `cwd`, else the process cwd) and makes a pool on it. */
  static async create(options = {}) {
    validateConfig(options, DEFAULT_CONFIG);
    const managerOptions = {
      ...options.maxConcurrency !== void 0 ? { maxConcurrency: options.maxConcurrency } : {},
      ...options.worktreeDir !== void 0 ? { worktreeDir: options.worktreeDir } : {},
      ...options.baseBranch !== void 0 ? { baseBranch: options.baseBranch } : {},
      ...options.branchPattern !== void 0 ? { branchPattern: options.branchPattern } : {},
      ...options.logger !== void 0 ? { logger: options.logger } : {},
      ...options.config !== void 0 ? { config: options.config } : {}
    };
    const manager = options.repoPath ? await WorktreeManager.open({ repoPath: options.repoPath, ...managerOptions }) : await WorktreeManager.discover({ ...options.cwd ? { cwd: options.cwd } : {}, ...managerOptions });
    return new _WorktreePool(manager, { ...options, maxConcurrency: manager.maxConcurrency });
  }
  /**
   * Runs every task in its own worktree. Resolves (never rejects for a task's failure) with the
   * results in input order; rejects only for bad input, before anything starts: malformed tasks,
   * duplicate issue numbers (two worktrees of one issue would fight over its branch), a bad
   * `branchName`, a merge target that is no local branch, a push remote that does not exist.
   */
  async executeParallel(tasks, executor, options = {}) {
    if (typeof executor !== "function") {
      throw new MiyabiError("INVALID_ARGUMENT", `executor must be a function, got ${describe(executor)}`);
    }
    await this.validate(tasks, options);
    const started = performance.now();
    const batchId = `batch-${Date.now().toString(36)}-${randomBytes2(3).toString("hex")}`;
    await pruneBatchLogs(this.config.logDir, this.config.logRetention);
    const batch = new AbortController();
    const onCallerAbort = () => batch.abort(new TaskAbort("cancelled", "batch aborted by the caller"));
    if (options.signal?.aborted)
      onCallerAbort();
    options.signal?.addEventListener("abort", onCallerAbort, { once: true });
    try {
      const results = await Promise.all(tasks.map((task) => this.#queue.add(async () => {
        const result = await runTask({
          manager: this.manager,
          task,
          executor,
          batchId,
          batchSignal: batch.signal,
          timeoutMs: this.config.timeoutMs,
          abortGraceMs: this.config.abortGraceMs,
          autoCleanup: this.config.autoCleanup,
          prepare: this.config.prepare,
          merge: this.config.merge,
          push: this.config.push,
          reuse: this.config.reuse ? { keepPaths: this.config.keepPaths, maxIdle: this.config.maxIdle } : void 0,
          onConflict: this.config.onConflict,
          existingBranches: this.config.existingBranches,
          pullRequest: this.config.pullRequest && this.#github ? { options: this.config.pullRequest, client: this.#github } : void 0,
          logFile: join28(this.config.logDir, batchId, `issue-${task.issueNumber}.log`),
          onWorktree: (worktree, status) => this.#track(worktree, status)
        });
        if (this.config.failFast && (result.status === "failed" || result.status === "timeout")) {
          batch.abort(new TaskAbort("cancelled", `fail-fast: issue ${task.issueNumber} ended ${result.status}`));
        }
        return result;
      })));
      return summarise(batchId, results, Math.round(performance.now() - started));
    } finally {
      options.signal?.removeEventListener("abort", onCallerAbort);
    }
  }
  /**
   * Checks a batch without running anything: what `executeParallel` would refuse before starting
   * (malformed or duplicate tasks, bad branch names, a merge target that is no local branch, a push
   * remote that does not exist) throws here as the same `INVALID_ARGUMENT`.
   */
  async validate(tasks, options = {}) {
    validateTasks(tasks);
    await validateBatch(this.manager, tasks, this.config, options.signal);
    const pr = this.config.pullRequest;
    if (pr && !this.#github) {
      this.#github = pr.client ?? await createGitHubClient({
        ...pr.token !== void 0 ? { token: pr.token } : {},
        ...pr.baseUrl !== void 0 ? { baseUrl: pr.baseUrl } : {}
      });
    }
  }
  /**
   * Pre-creates idle worktrees until `count` are idle (at most `maxIdle`), so that the next tasks
   * with `reuse` only switch branch. Returns those this call created.
   */
  warm(count, options = {}) {
    return this.manager.warmWorktrees(count, { maxIdle: this.config.maxIdle, ...options });
  }
  /** `executeParallel` for plain issue numbers and a function of the worktree path. */
  executeSimple(issueNumbers, fn, options = {}) {
    if (!Array.isArray(issueNumbers)) {
      throw new MiyabiError("INVALID_ARGUMENT", `issueNumbers must be an array, got ${describe(issueNumbers)}`);
    }
    return this.executeParallel(issueNumbers.map((issueNumber) => ({ issueNumber })), (worktree, task, ctx) => fn(worktree.path, task.issueNumber, ctx), options);
  }
  /** Tasks running and queued, free slots, and the worktrees this pool holds by status. */
  stats() {
    const worktreesByStatus = countByStatus(this.#worktrees.values());
    return {
      maxConcurrency: this.config.maxConcurrency,
      activeTasks: this.#queue.pending,
      queuedTasks: this.#queue.size,
      availableSlots: Math.max(0, this.config.maxConcurrency - this.#queue.pending),
      worktreesByStatus
    };
  }
  #track(worktree, status) {
    if (status === "removed")
      this.#worktrees.delete(worktree.id);
    else
      this.#worktrees.set(worktree.id, status);
  }
};
function validateConfig(config, file) {
  if (typeof config !== "object" || config === null) {
    throw new MiyabiError("INVALID_ARGUMENT", `pool config must be an object, got ${describe(config)}`);
  }
  const fromFile = definedOnly({
    maxConcurrency: file.maxConcurrency,
    timeoutMs: file.timeoutMs,
    logRetention: file.logRetention
  });
  const merged = { ...DEFAULTS, ...fromFile, ...definedOnly(config) };
  for (const key of ["maxConcurrency", "timeoutMs", "abortGraceMs", "logRetention"]) {
    const value = merged[key];
    const integerOnly = key === "maxConcurrency" || key === "logRetention";
    const valid = typeof value === "number" && Number.isFinite(value) && (key === "abortGraceMs" ? value >= 0 : value > 0) && (!integerOnly || Number.isSafeInteger(value)) && value <= 2147483647;
    if (!valid) {
      throw new MiyabiError("INVALID_ARGUMENT", `${key} must be a ${integerOnly ? "positive integer" : "positive finite number of milliseconds"}, got ${describe(value)}`, {
        hint: `Pass ${key}: ${DEFAULTS[key]} or another ${integerOnly ? "positive integer" : "duration in ms"}.`
      });
    }
  }
  for (const key of ["failFast", "autoCleanup"]) {
    if (typeof merged[key] !== "boolean") {
      throw new MiyabiError("INVALID_ARGUMENT", `${key} must be true or false, got ${describe(merged[key])}`);
    }
  }
  const reuse = config.reuse ?? file.reuse;
  if (typeof reuse !== "boolean") {
    throw new MiyabiError("INVALID_ARGUMENT", `reuse must be true or false, got ${describe(reuse)}`);
  }
  const keepPaths = config.keepPaths ?? file.keepPaths;
  if (!Array.isArray(keepPaths)) {
    throw new MiyabiError("INVALID_ARGUMENT", `keepPaths must be an array of paths, got ${describe(keepPaths)}`);
  }
  for (const path of keepPaths) {
    const problem = relativePathProblem(path);
    if (problem) {
      throw new MiyabiError("INVALID_ARGUMENT", `keepPaths: ${describe(path)} ${problem}`, {
        hint: "Give ignored folders relative to the repository root, e.g. ['node_modules']."
      });
    }
  }
  const maxIdle = config.maxIdle ?? file.maxIdle ?? merged.maxConcurrency;
  if (typeof maxIdle !== "number" || !Number.isSafeInteger(maxIdle) || maxIdle < 0) {
    throw new MiyabiError("INVALID_ARGUMENT", `maxIdle must be 0 or a positive integer, got ${describe(maxIdle)}`);
  }
  if (reuse && !merged.autoCleanup) {
    throw new MiyabiError("INVALID_ARGUMENT", "reuse needs autoCleanup: a kept worktree is never handed to another task", {
      hint: "Drop reuse, or leave autoCleanup on."
    });
  }
  if (config.logDir !== void 0 && (typeof config.logDir !== "string" || config.logDir === "")) {
    throw new MiyabiError("INVALID_ARGUMENT", `logDir must be a folder path, got ${describe(config.logDir)}`);
  }
  return {
    maxConcurrency: merged.maxConcurrency,
    timeoutMs: merged.timeoutMs,
    failFast: merged.failFast,
    autoCleanup: merged.autoCleanup,
    abortGraceMs: merged.abortGraceMs,
    prepare: resolvePrepareSettings(file, config.prepare),
    merge: checkMergeOptions(config.merge),
    push: checkPushOptions(config.push),
    onConflict: checkConflictPolicy(config.onConflict),
    existingBranches: checkExistingBranches(config.existingBranches),
    logRetention: merged.logRetention,
    pullRequest: checkPullRequestOptions(config.pullRequest, config),
    logDir: config.logDir ?? "",
    reuse,
    keepPaths: keepPaths.map(normaliseRelativePath),
    maxIdle
  };
}
function checkMergeOptions(merge2) {
  if (merge2 === void 0)
    return void 0;
  if (typeof merge2 !== "object" || merge2 === null) {
    throw new MiyabiError("INVALID_ARGUMENT", `merge must be an object like { into, strategy }, got ${describe(merge2)}`, {
      hint: "Pass merge: {} to merge into each base branch, or leave it out not to merge."
    });
  }
  if (merge2.strategy !== void 0 && !MERGE_STRATEGIES.includes(merge2.strategy)) {
    throw new MiyabiError("INVALID_ARGUMENT", `merge.strategy must be one of ${MERGE_STRATEGIES.join(", ")}, got ${describe(merge2.strategy)}`);
  }
  if (merge2.into !== void 0) {
    const problem = branchNameProblem(merge2.into);
    if (problem) {
      throw new MiyabiError("INVALID_ARGUMENT", `merge.into ${describe(merge2.into)} is not a branch name: it ${problem}`, {
        details: { option: "merge.into" }
      });
    }
  }
  if (merge2.message !== void 0 && typeof merge2.message !== "string") {
    throw new MiyabiError("INVALID_ARGUMENT", `merge.message must be a string, got ${describe(merge2.message)}`);
  }
  return merge2;
}
function checkExistingBranches(value) {
  if (value === void 0 || value === "restart" || value === "continue")
    return value ?? "restart";
  throw new MiyabiError("INVALID_ARGUMENT", `existingBranches must be 'restart' or 'continue', got ${describe(value)}`);
}
function checkConflictPolicy(policy) {
  if (policy === void 0 || policy === "keep" || policy === "remove")
    return policy ?? "keep";
  const attempts = typeof policy === "object" && policy !== null ? policy.attempts ?? 1 : void 0;
  if (typeof policy !== "object" || policy === null || typeof policy.resolve !== "function" || typeof attempts !== "number" || !Number.isSafeInteger(attempts) || attempts < 1) {
    throw new MiyabiError("INVALID_ARGUMENT", `onConflict must be 'keep', 'remove' or { resolve: executor, attempts: 1 or more }, got ${describe(policy)}`);
  }
  return policy;
}
function checkPushOptions(push2) {
  if (push2 === void 0)
    return void 0;
  if (typeof push2 !== "object" || push2 === null) {
    throw new MiyabiError("INVALID_ARGUMENT", `push must be an object like { remote }, got ${describe(push2)}`, {
      hint: "Pass push: {} to push to 'origin', or leave it out not to push."
    });
  }
  if (push2.remote !== void 0 && (typeof push2.remote !== "string" || push2.remote === "" || push2.remote.startsWith("-"))) {
    throw new MiyabiError("INVALID_ARGUMENT", `push.remote must be a remote name, got ${describe(push2.remote)}`, {
      details: { option: "push.remote" }
    });
  }
  return push2;
}
function checkPullRequestOptions(pr, config) {
  if (pr === void 0)
    return void 0;
  if (typeof pr !== "object" || pr === null) {
    throw new MiyabiError("INVALID_ARGUMENT", `pullRequest must be an object like { repo }, got ${describe(pr)}`);
  }
  if (typeof pr.repo === "string")
    parseRepoSlug(pr.repo);
  if (config.push === void 0) {
    throw new MiyabiError("INVALID_ARGUMENT", "pullRequest needs push: the branch must be on the remote first", {
      hint: "Pass push: {} as well.",
      details: { option: "pullRequest" }
    });
  }
  if (config.merge !== void 0) {
    throw new MiyabiError("INVALID_ARGUMENT", "pullRequest cannot go with merge: the pull request is the merge", {
      hint: "Choose one: merge locally, or open pull requests.",
      details: { option: "pullRequest" }
    });
  }
  for (const key of ["reviewers", "labels"]) {
    const list = pr[key];
    if (list !== void 0 && (!Array.isArray(list) || list.some((item) => typeof item !== "string" || item === ""))) {
      throw new MiyabiError("INVALID_ARGUMENT", `pullRequest.${key} must be a list of names, got ${describe(list)}`);
    }
  }
  return pr;
}
function definedOnly(value) {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== void 0));
}
function validateTasks(tasks) {
  if (!Array.isArray(tasks)) {
    throw new MiyabiError("INVALID_ARGUMENT", `tasks must be an array, got ${describe(tasks)}`);
  }
  const seen = /* @__PURE__ */ new Set();
  for (const [index, task] of tasks.entries()) {
    if (typeof task !== "object" || task === null) {
      throw new MiyabiError("INVALID_ARGUMENT", `tasks[${index}] must be an object, got ${describe(task)}`);
    }
    assertIssueNumber(task.issueNumber);
    for (const key of ["branchName", "baseBranch"]) {
      const value = task[key];
      const problem = value === void 0 ? void 0 : branchNameProblem(value);
      if (problem) {
        throw new MiyabiError("INVALID_ARGUMENT", `tasks[${index}].${key} ${describe(value)} is not a branch name: it ${problem}`, {
          hint: "Pass a name like feature/issue-42, or leave it out.",
          details: { option: key, issueNumber: task.issueNumber }
        });
      }
    }
    if (seen.has(task.issueNumber)) {
      throw new MiyabiError("INVALID_ARGUMENT", `issue ${task.issueNumber} appears twice in the batch`, {
        hint: "Give each issue once: two worktrees of one issue would compete for its branch.",
        details: { issueNumber: task.issueNumber }
      });
    }
    seen.add(task.issueNumber);
  }
}

// dist/process/forced-stop.js
async function forceStopProcessGroups(options = {}) {
  refuseNewProcesses();
  const waitMs = options.protectedWaitMs ?? 3e4;
  let killed = 0;
  const waiting = [];
  for (const [pid, checkout] of trackedGroups()) {
    if (!groupAlive(pid))
      continue;
    if (checkout) {
      waiting.push({ pid, ...checkout });
      continue;
    }
    killGroup(pid, "SIGKILL");
    killed++;
  }
  if (waiting.length === 0)
    return { killed, finished: [], interrupted: [] };
  options.onWait?.(waiting, waitMs);
  await goneWithin({ alive: () => waiting.some((run) => groupAlive(run.pid)) }, waitMs);
  const interrupted = waiting.filter((run) => groupAlive(run.pid));
  await Promise.all(interrupted.map((run) => terminate(processGroup(run.pid), { graceMs: 1e3 })));
  return { killed, finished: waiting.filter((run) => !interrupted.includes(run)), interrupted };
}
export {
  ATTRIBUTES,
  CONFIG_FILE_NAME,
  DEFAULT_BRANCH_PATTERN,
  DEFAULT_CONFIG,
  DEFAULT_GITHUB_API_URL,
  DEFAULT_KEEP_PATHS,
  DEFAULT_PORTS,
  DEFAULT_SETUP_TIMEOUT_MS,
  EXECUTION_OUTCOMES,
  INSTRUMENTATION_NAME,
  ISSUE_FILE_VAR,
  ISSUE_PLACEHOLDERS,
  ISSUE_TEXT_LIMIT_BYTES,
  MAX_CONCURRENCY,
  MAX_DURATION_MS,
  METRIC_NAMES,
  MiyabiError,
  PACKAGE_JSON_KEY,
  SPAN_NAMES,
  TASK_STAGES,
  TELEMETRY_LOCALES,
  WORKTREE_EVENT_TYPES,
  WORKTREE_ID_VAR,
  WORKTREE_STATUSES,
  WorktreeManager,
  WorktreePool,
  apiUrlForHost,
  branchNameProblem,
  branchSummary,
  checkDuration,
  createGitHubClient,
  describeError,
  expandBranchPattern,
  expandIssuePlaceholders,
  forceStopProcessGroups,
  formatArgv,
  formatDuration,
  isMiyabiError,
  issueEnvironment,
  issuePlaceholderValues,
  issuesFromGitHub,
  killAllProcessGroups,
  lastLines,
  liveProcessGroupCount,
  loadConfig,
  openLogFile,
  openOrUpdatePullRequest,
  openWorktreePullRequest,
  parseDuration,
  parseRepoSlug,
  prBody,
  relativePathProblem,
  repoFromOrigin,
  repoFromRemoteUrl,
  resolveGitHubToken,
  resolveTelemetryLocale,
  runCommand,
  runGit,
  silentLogger,
  toError,
  toGitHubError,
  truncateIssueText,
  worktreeEnvironment,
  writeIssueFile
};
