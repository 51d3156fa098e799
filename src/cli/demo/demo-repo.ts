import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runGit } from '../../index.js';
import { FAKE_AGENT_SOURCE } from './fake-agent.js';

/** A throwaway repository for the demo, in its own temp folder. */
export interface DemoRepository {
  /** The temp folder holding everything the demo makes. */
  readonly root: string;
  /** The repository's main worktree. */
  readonly path: string;
  /** Deletes the temp folder and everything in it. */
  dispose(): Promise<void>;
}

// The demo's own commits (and the agents' in its worktrees) must work on a machine with no git identity.
const LOCAL_CONFIG: readonly [string, string][] = [
  ['user.name', 'miyabi-worktree demo'],
  ['user.email', 'demo@miyabi-worktree.invalid'],
  ['commit.gpgsign', 'false'],
  ['tag.gpgsign', 'false'],
];

const FILES: Readonly<Record<string, string>> = {
  'README.md': '# demo project\n\nA throwaway repository made by `miyabi-worktree demo`.\n',
  '.gitignore': '.env\n.worktrees/\n',
  '.worktreeinclude': '# ignored files every new worktree gets a copy of\n.env\n',
  'tools/fake-agent.mjs': FAKE_AGENT_SOURCE,
};

/**
 * Makes `<tmp>/miyabi-demo-XXXX/repo`: a repository on `main` with one commit (the fake agent, a
 * `.worktreeinclude`), a local identity and no hooks, and an ignored `.env` for the worktrees.
 */
export async function createDemoRepository(): Promise<DemoRepository> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'miyabi-demo-')));
  const path = join(root, 'repo');
  const dispose = () => rm(root, { recursive: true, force: true, maxRetries: 3 });
  try {
    await mkdir(path);
    await runGit(['init', '--quiet', '--initial-branch=main'], { cwd: path });
    for (const [key, value] of LOCAL_CONFIG) await runGit(['config', key, value], { cwd: path });
    // No user hooks (a global core.hooksPath) may run on the demo's commits.
    await mkdir(join(root, 'no-hooks'));
    await runGit(['config', 'core.hooksPath', join(root, 'no-hooks')], { cwd: path });
    for (const [name, content] of Object.entries(FILES)) {
      await mkdir(dirname(join(path, name)), { recursive: true });
      await writeFile(join(path, name), content);
    }
    await runGit(['add', '--all'], { cwd: path });
    await runGit(['commit', '--quiet', '--no-verify', '-m', 'Initial commit'], { cwd: path });
    await writeFile(join(path, '.env'), 'API_KEY=demo-secret\n');
    return { root, path, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
