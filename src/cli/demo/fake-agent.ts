/** What each demo issue's "agent" does: most fix their issue; one hangs past the timeout, one fails. */
export const DEMO_PLAN: Readonly<Record<number, 'fix' | 'hang' | 'fail'>> = {
  1: 'fix',
  2: 'hang',
  3: 'fix',
  4: 'fail',
  5: 'fix',
};

/**
 * Source of `tools/fake-agent.mjs`, committed into the demo repository and run in each worktree as
 * `node tools/fake-agent.mjs {issue}`: it prints progress, reads the `.env` that `.worktreeinclude`
 * copied, and (for a fix) writes `notes/issue-<n>.md` and commits it on the task's branch. The
 * hanging one also starts a background child, which the timeout kills with the whole process group.
 */
export const FAKE_AGENT_SOURCE = `import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const issue = Number(process.argv[2]);
const plan = ${JSON.stringify(DEMO_PLAN)};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (text) => console.log(\`agent #\${issue}: \${text}\`);

say(\`reading issue #\${issue} on branch \${process.env.MIYABI_BRANCH}\`);
await sleep(300);
const env = existsSync('.env') ? readFileSync('.env', 'utf8').trim() : 'missing';
say(\`.env copied by .worktreeinclude: \${env}\`);
await sleep(300);
if (plan[issue] === 'hang') {
  spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  say('thinking very hard (this one will hit the timeout)');
  setInterval(() => say('still thinking…'), 700);
  await new Promise(() => {});
}
say('writing a fix');
await sleep(400);
if (plan[issue] === 'fail') {
  console.error(\`agent #\${issue}: error: the tests still fail, giving up\`);
  process.exit(1);
}
mkdirSync('notes', { recursive: true });
writeFileSync(\`notes/issue-\${issue}.md\`, \`# Issue \${issue}\\n\\nFixed in worktree \${process.env.MIYABI_WORKTREE_ID}.\\n\`);
execFileSync('git', ['add', 'notes'], { stdio: 'inherit' });
execFileSync('git', ['commit', '--quiet', '--no-verify', '-m', \`Fix issue #\${issue}\`], { stdio: 'inherit' });
say('committed the fix');
`;
