import type { VariantsOption } from './variant.js';

/** What an agent is told about its issue: delivered through placeholders, environment and a file. */
export interface IssueContext {
  readonly title: string;
  /** Markdown as GitHub stores it; `''` for an issue without a body. */
  readonly body: string;
  /** The issue's page (html_url). */
  readonly url: string;
  readonly labels: readonly string[];
}

/** One unit of work: an issue to be handled in its own worktree. */
export interface WorktreeTask {
  readonly issueNumber: number;
  readonly description?: string;
  readonly agentType?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Branch to use instead of `feature/issue-<n>`. */
  readonly branchName?: string;
  /** Base branch for this task's worktree instead of the manager's default. */
  readonly baseBranch?: string;
  /** The issue's text (from `issuesFromGitHub`): the pull request's title and link come from it. */
  readonly context?: IssueContext;
  /**
   * W3C `traceparent` of a span in another process (a queue's submitter sets it): the task's span
   * becomes its child. Needs an OpenTelemetry propagator registered (the SDK's default has one).
   */
  readonly traceparent?: string;
  /**
   * Which variant of its issue this task is (1-based), when the issue runs as several attempts (the
   * pool sets it as it expands `variants`); absent: the issue's only attempt.
   */
  readonly variant?: number;
  /** This issue's attempts, instead of the pool's `variants`. @default the pool's `variants` (1) */
  readonly variants?: VariantsOption;
}

/** How a task ended (see `TaskResult`). */
export type TaskStatus = 'success' | 'failed' | 'timeout' | 'cancelled';

/** Where a task's lifecycle was when it ended unsuccessfully (on `task-complete` and in results). */
export type TaskStage = 'create' | 'setup' | 'execute' | 'check' | 'merge' | 'push' | 'pr' | 'cleanup';
