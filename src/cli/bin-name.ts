/** The binary's name, as printed in messages and help. */
export const BIN = 'miyabi-worktree';
