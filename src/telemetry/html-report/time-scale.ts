import { formatDuration } from '../../config/duration.js';

/** Maps instants of the batch onto 0–1000 (the drawings' viewBox width) and picks readable ticks. */
export interface TimeScale {
  readonly startMs: number;
  readonly spanMs: number;
  /** Position of an instant in viewBox units, 0–1000. */
  x(atMs: number): number;
  /** Same, as a percentage of the width (for HTML labels placed over a drawing). */
  percent(atMs: number): number;
  /** Tick instants (epoch ms) with their labels (`0s`, `30s`, `1m 00s`), ~6–10 of them. */
  readonly ticks: readonly { readonly atMs: number; readonly label: string }[];
}

export const VIEW_WIDTH = 1000;

// Tick steps people read easily, smallest first.
const STEPS_MS = [
  50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000, 7_200_000, 14_400_000, 21_600_000, 43_200_000, 86_400_000,
];

export function timeScale(startMs: number, endMs: number): TimeScale {
  // A batch of one instant still gets a visible width.
  const spanMs = Math.max(endMs - startMs, 1);
  const step = STEPS_MS.find((candidate) => spanMs / candidate <= 10) ?? spanMs / 8;
  const ticks: { atMs: number; label: string }[] = [];
  for (let offset = 0; offset <= spanMs; offset += step) {
    ticks.push({ atMs: startMs + offset, label: offset === 0 ? '0s' : formatDuration(offset) });
  }
  const fraction = (atMs: number) => Math.min(1, Math.max(0, (atMs - startMs) / spanMs));
  return {
    startMs,
    spanMs,
    x: (atMs) => round(fraction(atMs) * VIEW_WIDTH),
    percent: (atMs) => round(fraction(atMs) * 100),
    ticks,
  };
}

/** Two decimals: enough for a drawing, and short markup. */
export function round(value: number): number {
  return Math.round(value * 100) / 100;
}
