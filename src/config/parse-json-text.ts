import { MiyabiError } from '../errors.js';

/** What each of jsonc-parser's error codes means, for a person. */
const REASONS: Readonly<Record<string, string>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a double-quoted property name',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':' after the property name",
  CommaExpected: "expected ',' between items",
  CloseBraceExpected: "expected ',' or '}'",
  CloseBracketExpected: "expected ',' or ']'",
  EndOfFileExpected: 'unexpected text after the JSON value',
  InvalidCommentToken: 'comments are not allowed',
  UnexpectedEndOfComment: 'comments are not allowed',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'invalid number',
  InvalidUnicode: 'bad \\u escape in string',
  InvalidEscapeCharacter: 'bad escape sequence in string',
  InvalidCharacter: 'control character in string (escape it)',
};

/** Where and why `text` is not strict JSON, or `undefined` when it is. */
export async function locateJsonError(text: string): Promise<{ offset: number; reason: string } | undefined> {
  const { parse, printParseErrorCode } = await import('jsonc-parser');
  const errors: import('jsonc-parser').ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return undefined;
  if (first.offset >= text.length) return { offset: text.length, reason: 'unexpected end of file' };
  const before = text.slice(0, first.offset).trimEnd();
  const here = text[first.offset];
  if (before.endsWith(',') && (here === '}' || here === ']')) {
    return { offset: first.offset, reason: `trailing comma before '${here}'` };
  }
  const reason = REASONS[printParseErrorCode(first.error)] ?? 'invalid JSON';
  return {
    offset: first.offset,
    reason: reason === 'unexpected character' ? `${reason} ${JSON.stringify(here)}` : reason,
  };
}

/** JSON.parse with an `INVALID_CONFIG` error that names the file, line and column. */
export async function parseJsonText(text: string, label: string): Promise<unknown> {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (error) {
    const found = (await locateJsonError(body)) ?? { offset: 0, reason: 'invalid JSON' };
    const { line, column } = lineColumn(body, found.offset);
    throw new MiyabiError(
      'INVALID_CONFIG',
      `${label}: invalid JSON at line ${line}, column ${column}: ${found.reason}`,
      {
        cause: error,
        hint: `Fix the JSON syntax of ${label} (no comments or trailing commas).`,
        details: { file: label, line, column, offset: found.offset },
      },
    );
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
