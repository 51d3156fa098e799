#!/usr/bin/env node
import { guardProcessOutput } from './io.js';
import { takeQueueSecret } from './queue-secret-env.js';
import { readVersion } from './version.js';

// Entry point of the `miyabi-worktree` binary: everything heavy is loaded by the command that needs it.
// Installed first, so that even `--help | head` ends quietly when the reader goes away.
const output = guardProcessOutput();
// Before any command runs: nothing it starts (an agent, a hook, git) may inherit the queue's secret.
takeQueueSecret();
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Needs neither the command table nor the library whose limits its help texts quote.
  process.stdout.write(`${readVersion()}\n`);
} else {
  const { buildProgram } = await import('./program.js');
  await buildProgram().run(args);
}
// The command set its own exit code meanwhile: a failed write to stdout still makes it 1.
if (output.failed && !process.exitCode) process.exitCode = 1;
