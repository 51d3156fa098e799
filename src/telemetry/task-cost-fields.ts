import type { TaskResult } from '../core/task-result.js';
import type { TaskCompleteEvent } from './events.js';

/** A result's resources and usage as `task-complete` fields (none when absent). */
export function taskCostFields(
  result: Pick<TaskResult, 'resources' | 'usage'>,
): Pick<TaskCompleteEvent, 'peakRssBytes' | 'cpuSeconds' | 'usage'> {
  return {
    ...(result.resources
      ? { peakRssBytes: result.resources.peakRssBytes, cpuSeconds: result.resources.cpuSeconds }
      : {}),
    ...(result.usage ? { usage: result.usage } : {}),
  };
}
