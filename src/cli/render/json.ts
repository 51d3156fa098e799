import { isMiyabiError } from '../../index.js';
import { toError } from '../../internal.js';
import { cliHint } from './hint.js';

/**
 * The `--json` document for a value: 2-space indented, newline-terminated. Library objects are
 * plain data already; errors go through their `toJSON`.
 */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `{ "error": { code, message, hint, ... } }` for a failure in `--json` mode. */
export function errorJson(error: unknown): { readonly error: Record<string, unknown> } {
  // The same hint as the error line: in CLI words.
  if (isMiyabiError(error)) return { error: { ...error.toJSON(), hint: cliHint(error.hintParts) } };
  const plain = toError(error);
  return { error: { name: plain.name, message: plain.message } };
}
