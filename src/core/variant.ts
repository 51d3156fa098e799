// Variants: several attempts at one issue, the check as the gate, a score to rank, the best one lands.
import type { TaskStage, TaskStatus } from './task.js';

/** One variant of an issue's attempts: its own agent (command), environment and name. */
export interface VariantSpec {
  /** Shown in the scoreboard and given as `MIYABI_VARIANT_NAME`. @default `v<k>` */
  readonly name?: string;
  /** The command (argv, the batch's placeholders) this variant runs instead of the batch's. @default the batch's command */
  readonly command?: readonly string[];
  /** Extra environment of this variant's command. @default {} */
  readonly env?: Readonly<Record<string, string>>;
}

/** How many attempts each issue gets (1–10), or one entry per attempt. */
export type VariantsOption = number | readonly VariantSpec[];

/** How the winner of an issue's variants was chosen (see `TaskResult.decidedBy`). */
export type VariantDecision = 'score' | 'check' | 'first-success';

/** One variant of an issue as the scoreboard shows it (`TaskResult.variants`). */
export interface VariantOutcome {
  /** 1-based. */
  readonly variant: number;
  readonly name: string;
  readonly branch: string;
  /** Empty when its worktree was never created. */
  readonly worktreeId: string;
  /** How its attempt (create, setup, command) ended. */
  readonly status: TaskStatus;
  /** Where it ended when it did not succeed (`check`: it failed the gate). */
  readonly stage?: TaskStage;
  /** The check on its branch: absent when none ran (no check, or the command failed). */
  readonly checkPassed?: boolean;
  /** What the score command printed (0–100); absent without `score` or when it printed no number. */
  readonly score?: number;
  /** Lines added and deleted since its base commit (the first tie-break: fewer wins). */
  readonly changedLines?: number;
  readonly durationMs: number;
  /** With `queue`: the worker that ran it (absent for a local attempt). */
  readonly worker?: string;
  /** Why it did not succeed (its command, its gate, or its landing when it was tried as a winner). */
  readonly error?: { readonly message: string; readonly code?: string };
  readonly logFile?: string;
  /** Where its work was saved when its worktree was removed (`archives` lists it; `restore` brings it back). */
  readonly archiveRef?: string;
  /** True for the variant that won (and landed, with `merge`). */
  readonly won: boolean;
}
