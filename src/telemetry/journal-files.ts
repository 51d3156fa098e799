import { type FileHandle, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The active journal every process appends to. */
export const ACTIVE_FILE = 'telemetry.jsonl';
/** The aggregate of compacted events. */
export const SUMMARY_FILE = 'telemetry-summary.json';

const SEGMENT = /^telemetry\.(\d+)\.jsonl$/;

/** Name of rotated segment `n` (a former active file). */
export function segmentFile(n: number): string {
  return `telemetry.${n}.jsonl`;
}

/** Numbers of the rotated segments in `dir`, ascending; none when `dir` does not exist. */
export async function listSegments(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const numbers: number[] = [];
  for (const name of names) {
    const match = SEGMENT.exec(name);
    if (match?.[1] !== undefined) numbers.push(Number(match[1]));
  }
  return numbers.sort((a, b) => a - b);
}

/** The file's text, or undefined when it (or its folder) does not exist. */
export async function readTextIfExists(dir: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** ENOENT, or ENOTDIR (a path component is a file): either way there is nothing to read. */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The whole file behind `handle`, read by position (an append descriptor's own offset is at its end). */
export async function readWhole(handle: FileHandle): Promise<string> {
  const { size } = await handle.stat();
  const buffer = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(buffer, done, size - done, done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done).toString('utf8');
}
