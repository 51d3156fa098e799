// Bundles what `tsc` emitted into the files the package runs: `dist/index.js` (the library),
// `dist/cli/main.js` (the binary), `dist/internal.js` (plumbing only the binary imports; not in the
// package's `exports` map), their shared code and each lazily loaded part in `dist/chunks/`.
// Why: Node loads ~120 small ES modules one file at a time, which cost a command about 120 ms of
// CPU before it did anything; bundled, the same code loads in a few files. Dependencies stay
// external (npm installs them), and every `import()` stays lazy (its own chunk).
import { build } from 'esbuild';

await build({
  entryPoints: { index: 'dist/index.js', internal: 'dist/internal.js', 'cli/main': 'dist/cli/main.js' },
  outdir: 'dist',
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
