#!/usr/bin/env node
import { guardProcessOutput } from './io.js';
import { buildProgram } from './program.js';

// Entry point of the `miyabi-worktree` binary: everything heavy is loaded by the command that needs it.
// Installed first, so that even `--help | head` ends quietly when the reader goes away.
const output = guardProcessOutput();
const program = buildProgram();
await program.run(process.argv.slice(2));
// The command set its own exit code meanwhile: a failed write to stdout still makes it 1.
if (output.failed && !process.exitCode) process.exitCode = 1;
