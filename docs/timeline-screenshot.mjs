// Regenerates docs/timeline.png: a real 8-task batch in a throwaway repository (setup, merges, a
// merge conflict, a failure, a timeout), its HTML report, and a Chromium screenshot of it.
// Usage: npm run build && node docs/timeline-screenshot.mjs [/usr/bin/chromium]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'miyabi-timeline-'));
const repo = join(work, 'shop-api');
const git = (...args) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
try {
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  writeFileSync(join(repo, 'README.md'), '# shop-api\n');
  writeFileSync(
    join(repo, 'miyabi-worktree.config.json'),
    JSON.stringify({ setup: [[process.execPath, '-e', 'setTimeout(() => {}, 400)']] }),
  );
  git('add', '-A');
  git('-c', 'user.name=demo', '-c', 'user.email=demo@example.invalid', 'commit', '-q', '-m', 'init');
  // Each task works for a while, commits; #4 and #7 edit the same line (the later merge conflicts),
  // #5 fails, #8 outlives --timeout.
  const agent = `
    const n = Number(process.env.MIYABI_ISSUE_NUMBER);
    const fs = require('fs'), { execFileSync } = require('child_process');
    const ms = { 1: 1800, 2: 3200, 3: 1200, 4: 2600, 5: 900, 6: 2100, 7: 1500, 8: 60000 }[n];
    setTimeout(() => {
      if (n === 5) { console.error('tests failed'); process.exit(1); }
      fs.writeFileSync(n === 4 || n === 7 ? 'pricing.js' : 'feature-' + n + '.js', 'export const v = ' + n + ';\\n');
      execFileSync('git', ['add', '-A']);
      execFileSync('git', ['-c', 'user.name=agent', '-c', 'user.email=agent@example.invalid', 'commit', '-q', '-m', 'issue ' + n]);
    }, ms);`;
  const html = join(work, 'timeline.html');
  execFileSync(
    process.execPath,
    [
      join(root, 'dist/cli/main.js'),
      'run',
      '--issues',
      '1-8',
      '--concurrency',
      '3',
      '--timeout',
      '7s',
      '--merge',
      '--html',
      html,
      '--',
      process.execPath,
      '-e',
      agent,
    ],
    { cwd: repo, stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } },
  ).toString?.();
} catch (error) {
  // Exit 1 is expected: the batch has a failure and a timeout.
  if (error.status !== 1) throw error;
}
const profile = mkdtempSync(join(tmpdir(), 'miyabi-chromium-'));
const browser = await puppeteer.launch({
  executablePath: process.argv[2] ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    `--user-data-dir=${profile}`,
  ],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800, deviceScaleFactor: 1 });
  await page.goto(`file://${join(work, 'timeline.html')}`);
  await page.screenshot({ path: join(root, 'docs/timeline.png'), fullPage: true });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
