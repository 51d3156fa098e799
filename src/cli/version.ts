import { createRequire } from 'node:module';

/** The package's version, `0.0.0` when its manifest cannot be read. */
export function readVersion(): string {
  try {
    // The package's own manifest by name (its exports allow it): found wherever the bundler put this code.
    const manifest = createRequire(import.meta.url)('miyabi-worktree/package.json') as {
      version?: string;
    };
    return manifest.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
