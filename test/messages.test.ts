import { expect, describe as group, it } from 'vitest';
import { describe } from '../src/core/describe.js';
import { MiyabiError, WorktreeManager } from '../src/index.js';
import { createTempRepo } from './helpers/temp-repo.js';

async function message(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MiyabiError);
  expect((error as MiyabiError).code).toBe('INVALID_ARGUMENT');
  return (error as MiyabiError).message;
}

group('messages about bad values', () => {
  it('shows numbers as JavaScript writes them, never as null', () => {
    expect(describe(Number.NaN)).toBe('NaN (number)');
    expect(describe(Number.POSITIVE_INFINITY)).toBe('Infinity (number)');
    expect(describe(Number.NEGATIVE_INFINITY)).toBe('-Infinity (number)');
    expect(describe(-0)).toBe('-0 (number)');
    expect(describe(10n)).toBe('10n (bigint)');
    expect(describe(undefined)).toBe('undefined (undefined)');
    expect(describe(null)).toBe('null (null)');
    expect(describe('x')).toBe('"x" (string)');
    expect(describe([1])).toBe('[1] (object)');
  });

  it('names the type of a branchName that is no string, and the NaN of an issue number', async () => {
    const repo = createTempRepo();
    const manager = await WorktreeManager.open({ repoPath: repo.path, config: false });
    const number = await message(manager.createWorktree(1, { branchName: 42 as never }));
    expect(number).toContain('42 (number)');
    expect(number).toContain('is not a string');
    expect(number).not.toContain('empty');
    const nan = await message(manager.createWorktree(1, { branchName: Number.NaN as never }));
    expect(nan).toContain('NaN (number)');
    expect(await message(manager.createWorktree(Number.NaN))).toContain('got NaN (number)');
    expect(await message(manager.createWorktree(Number.POSITIVE_INFINITY))).toContain(
      'got Infinity (number)',
    );
    expect(
      await message(WorktreeManager.open({ repoPath: repo.path, maxConcurrency: Number.NaN })),
    ).toContain('got NaN (number)');
  });
});
