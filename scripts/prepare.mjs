// npm's `prepare` hook: builds dist/ when the package is installed from a folder or a git URL and when
// it is packed or published (`npm pack` and `npm publish` run `prepare`), so the installed
// `miyabi-worktree` binary exists. Why the exceptions: `npm ci` is how a clone is set up for
// development, and every script that needs dist/ (`test`, `demo`, `bench`) builds it first, so a
// build there would only make `npm ci` slower; without the dev dependencies (`--omit=dev`) there is
// no compiler, and a failed hook would fail the whole install.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

if (process.env.npm_command === 'ci') {
  console.log('miyabi-worktree: npm ci does not build dist/ (npm test, npm run demo and npm run build do)');
  process.exit(0);
}
try {
  require.resolve('typescript/package.json');
  require.resolve('esbuild/package.json');
} catch {
  console.log(
    'miyabi-worktree: no dev dependencies here, so dist/ is not built (npm install, then npm run build)',
  );
  process.exit(0);
}
const npm = process.env.npm_execpath;
const build = npm
  ? spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' })
  : spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(build.status ?? 1);
