#!/usr/bin/env node
import { buildProgram } from './program.js';

// Entry point of the `miyabi-worktree` binary: everything heavy is loaded by the command that needs it.
const program = buildProgram();
await program.run(process.argv.slice(2));
