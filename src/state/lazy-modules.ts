// Packages only some commands need, loaded on first use: `list`, `status` or `--help` never take the
// cross-process lock nor write the registry, and these load ~20 CommonJS files (graceful-fs among them).
type ProperLockfile = typeof import('proper-lockfile');
type WriteFileAtomic = typeof import('write-file-atomic');

let properLockfile: Promise<ProperLockfile> | undefined;
let writeFileAtomic: Promise<WriteFileAtomic> | undefined;

/** `proper-lockfile`, loaded once. */
export function loadProperLockfile(): Promise<ProperLockfile> {
  properLockfile ??= import('proper-lockfile').then((module) => module.default);
  return properLockfile;
}

/** `write-file-atomic`, loaded once. */
export function loadWriteFileAtomic(): Promise<WriteFileAtomic> {
  writeFileAtomic ??= import('write-file-atomic').then((module) => module.default);
  return writeFileAtomic;
}
