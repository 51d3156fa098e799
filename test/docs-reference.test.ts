import { execFile as execFileCallback } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { ISSUE_PLACEHOLDERS, TASK_PLACEHOLDERS } from '../src/index.js';
import { QUEUE_SUPPORT } from '../src/pool/runner-support.js';
import { CLI } from './helpers/cli-process.js';
import { createTempRepo } from './helpers/temp-repo.js';

// docs/ is the reference; every list below is derived from the code (the built CLI's own help, the
// config file's validation, the TypeScript types of the package entry), never written twice here.
const execFile = promisify(execFileCallback);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docs = (name: string): string => readFileSync(join(root, 'docs', name), 'utf8');

/** The lines of `## title` (or `### title`) up to the next heading of the same or a higher level. */
function section(markdown: string, title: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#{2,3} /.test(line) && line.replace(/^#+ /, '') === title);
  if (start === -1) return '';
  const level = (/^#+/.exec(lines[start] as string)?.[0] ?? '').length;
  const end = lines.findIndex(
    (line, index) => index > start && /^#+ /.test(line) && (/^#+/.exec(line)?.[0] ?? '').length <= level,
  );
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** The backticked names in the first cell of each table row of `text`. */
function rowNames(text: string): string[] {
  return (
    text
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      // A `|` inside a cell is written `\|`.
      .flatMap((line) =>
        [...(line.split(/(?<!\\)\|/)[1] ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1] as string),
      )
  );
}

/** What the code has that the docs lack, and what the docs list that the code no longer has. */
function drift(code: Iterable<string>, documented: Iterable<string>): { missing: string[]; gone: string[] } {
  const inCode = new Set(code);
  const inDocs = new Set(documented);
  return {
    missing: [...inCode].filter((name) => !inDocs.has(name)).sort(),
    gone: [...inDocs].filter((name) => !inCode.has(name)).sort(),
  };
}

const NO_DRIFT = { missing: [], gone: [] };

// ---------------------------------------------------------------------------------------------
// The CLI, as the built program describes itself

interface HelpPage {
  readonly commands: string[];
  readonly flags: string[];
}

/** Parses commander's help: the `Commands:` names and the long flags of `Options:`. */
function parseHelp(text: string): HelpPage {
  const block = (title: string): string[] => {
    const lines = text.split('\n');
    const start = lines.indexOf(title);
    if (start === -1) return [];
    const end = lines.findIndex((line, index) => index > start && line !== '' && !line.startsWith(' '));
    return lines.slice(start + 1, end === -1 ? undefined : end).filter((line) => /^ {2}\S/.test(line));
  };
  return {
    commands: block('Commands:').map((line) => (line.trim().split(/[\s|]/)[0] ?? '').trim()),
    flags: block('Options:')
      .map((line) => /--[a-z][a-z-]*/.exec(line)?.[0] ?? '')
      .filter((flag) => flag !== '' && flag !== '--help'),
  };
}

async function help(args: readonly string[]): Promise<HelpPage> {
  const { stdout } = await execFile(process.execPath, [CLI, ...args, '--help'], {
    env: { ...process.env, COLUMNS: '200' },
  });
  return parseHelp(stdout);
}

describe('docs/cli.md', () => {
  const cliDoc = docs('cli.md');

  it('documents every global option of the program, and no other', async () => {
    const page = await help([]);
    expect(page.flags).toContain('--cwd');
    const documented = rowNames(section(cliDoc, 'Global options')).flatMap(
      (cell) => cell.match(/--[a-z-]+/g) ?? [],
    );
    expect(drift(page.flags, documented)).toEqual(NO_DRIFT);
  });

  it('has a section for every command, and none for a command that is gone', async () => {
    const page = await help([]);
    const commands = page.commands.filter((name) => name !== 'help');
    expect(commands).toContain('run');
    const documented = [...cliDoc.matchAll(/^### `([a-z-]+)`/gm)].map((match) => match[1] as string);
    expect(drift(commands, documented)).toEqual(NO_DRIFT);
  });

  it("lists every option of every command in that command's section, and none that is gone", async () => {
    const page = await help([]);
    const problems: Record<string, { missing: string[]; gone: string[] }> = {};
    for (const command of page.commands.filter((name) => name !== 'help')) {
      const { flags } = await help([command]);
      const documented = rowNames(section(cliDoc, `\`${command}\``)).flatMap(
        (cell) => cell.match(/--[a-z][a-z-]*/g) ?? [],
      );
      const found = drift(flags, documented);
      if (found.missing.length > 0 || found.gone.length > 0) problems[command] = found;
    }
    expect(problems).toEqual({});
  }, 180_000); // one CLI process per command: slow on a loaded machine

  it('lists every placeholder of run, and no other', () => {
    const documented = rowNames(section(cliDoc, 'Placeholders'));
    expect(drift([...TASK_PLACEHOLDERS, ...ISSUE_PLACEHOLDERS], documented)).toEqual(NO_DRIFT);
  });

  it('lists every environment variable the code sets or reads, and no other', () => {
    const names = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          for (const match of text.matchAll(/\bMIYABI_[A-Z0-9_]*[A-Z0-9]\b/g)) names.add(match[0]);
          for (const match of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)\b/g)) names.add(match[1] as string);
        }
      }
    };
    walk(join(root, 'src'));
    expect(names).toContain('MIYABI_ISSUE_NUMBER');
    expect(drift(names, rowNames(section(cliDoc, 'Environment variables')))).toEqual(NO_DRIFT);
  });

  it('lists every exit code, and no other', () => {
    const codes = new Set(['0', '1']);
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          for (const match of text.matchAll(/export const EXIT_[A-Z_]+ = (\d+)/g))
            codes.add(match[1] as string);
        }
      }
    };
    walk(join(root, 'src', 'cli'));
    expect(codes).toContain('130');
    const documented = section(cliDoc, 'Exit codes')
      .split('\n')
      .map((line) => /^\| (\d+) \|/.exec(line)?.[1])
      .filter((code): code is string => code !== undefined);
    expect(drift(codes, documented)).toEqual(NO_DRIFT);
  });
});

// ---------------------------------------------------------------------------------------------
// The configuration file, as its validation knows it

describe('docs/config.md', () => {
  it('documents every key of the configuration file, and no other', async () => {
    // An unknown key far from every real one makes the validation list the keys it knows.
    const repo = createTempRepo();
    writeFileSync(join(repo.path, 'miyabi-worktree.config.json'), JSON.stringify({ qqqqqqqqqqqqqqqq: 1 }));
    const result = await execFile(process.execPath, [CLI, 'list'], { cwd: repo.path }).then(
      () => '',
      (error: { stderr: string }) => error.stderr,
    );
    const known = /known keys: ([^)]+)\)/.exec(result)?.[1];
    expect(known, result).toBeDefined();
    const keys = (known ?? '').split(',').map((key) => key.trim());
    expect(keys).toContain('maxConcurrency');
    expect(drift(keys, rowNames(section(docs('config.md'), 'Keys')))).toEqual(NO_DRIFT);
  });
});

// ---------------------------------------------------------------------------------------------
// The library, as the TypeScript types of the package entry declare it

describe('docs/api.md', () => {
  let checker: ts.TypeChecker;
  let entry: ts.Symbol;
  const apiDoc = docs('api.md');

  beforeAll(() => {
    const program = ts.createProgram([join(root, 'src', 'index.ts')], {
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
    });
    checker = program.getTypeChecker();
    const source = program.getSourceFile(join(root, 'src', 'index.ts'));
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) throw new Error('src/index.ts has no module symbol');
    entry = symbol;
  }, 120_000);

  const exported = (name: string): ts.Symbol => {
    const symbol = checker.getExportsOfModule(entry).find((candidate) => candidate.name === name);
    if (!symbol) throw new Error(`the package entry no longer exports ${name}`);
    return symbol;
  };

  /** The properties of the first parameter of a static method of an exported class. */
  const optionsOf = (className: string, method: string): string[] => {
    const declaration = exported(className);
    const target =
      declaration.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(declaration) : declaration;
    const staticSide = checker.getTypeOfSymbol(target);
    const methodSymbol = staticSide.getProperty(method);
    if (!methodSymbol) throw new Error(`${className}.${method} is gone`);
    const [signature] = checker.getTypeOfSymbol(methodSymbol).getCallSignatures();
    const [parameter] = signature?.getParameters() ?? [];
    if (!parameter) throw new Error(`${className}.${method} takes no options`);
    const type = checker.getNonNullableType(checker.getTypeOfSymbol(parameter));
    return checker.getPropertiesOfType(type).map((property) => property.name);
  };

  it('lists every export of the package entry, and no other', () => {
    const names = checker.getExportsOfModule(entry).map((symbol) => symbol.name);
    expect(names).toContain('WorktreePool');
    expect(drift(names, rowNames(section(apiDoc, 'Exports')))).toEqual(NO_DRIFT);
  });

  it('documents every option of WorktreePool.create (and new WorktreePool), and no other', () => {
    const options = optionsOf('WorktreePool', 'create');
    expect(options).toContain('maxConcurrency');
    expect(drift(options, rowNames(section(apiDoc, 'Pool options')))).toEqual(NO_DRIFT);
  });

  it('says for every option of WorktreePool.create whether the queue runner honours it, and no other', () => {
    expect(drift(optionsOf('WorktreePool', 'create'), Object.keys(QUEUE_SUPPORT))).toEqual(NO_DRIFT);
  });

  it('documents every option of WorktreeManager.discover and .open, and no other', () => {
    const options = new Set([
      ...optionsOf('WorktreeManager', 'discover'),
      ...optionsOf('WorktreeManager', 'open'),
    ]);
    expect(options).toContain('repoPath');
    expect(drift(options, rowNames(section(apiDoc, 'Manager options')))).toEqual(NO_DRIFT);
  });

  it('lists every error code, and no other', () => {
    const alias = exported('MiyabiErrorCode');
    const type = checker.getDeclaredTypeOfSymbol(
      alias.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(alias) : alias,
    );
    const codes = (type.isUnion() ? type.types : [type])
      .filter((member): member is ts.StringLiteralType => member.isStringLiteral())
      .map((member) => member.value);
    expect(codes).toContain('MERGE_CONFLICT');
    expect(drift(codes, rowNames(section(apiDoc, 'Error codes')))).toEqual(NO_DRIFT);
  });
});

// ---------------------------------------------------------------------------------------------
// The pages themselves

describe('docs/', () => {
  it('has the reference pages, and every relative link in them and in the README leads to a file', () => {
    for (const page of ['cli.md', 'config.md', 'api.md', 'queue.md', 'safety.md', 'benchmarks.md'])
      expect(existsSync(join(root, 'docs', page)), page).toBe(true);
    const broken: string[] = [];
    const pages = [
      join(root, 'README.md'),
      ...readdirSync(join(root, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(root, 'docs', name)),
    ];
    for (const page of pages) {
      const text = readFileSync(page, 'utf8');
      for (const match of text.matchAll(/\]\(([^)#\s]+)(#[^)\s]*)?\)/g)) {
        const target = match[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        const file = join(dirname(page), target);
        if (!existsSync(file)) broken.push(`${page.slice(root.length + 1)}: ${target}`);
        const anchor = match[2]?.slice(1);
        if (anchor && file.endsWith('.md') && existsSync(file)) {
          const slugs = [...readFileSync(file, 'utf8').matchAll(/^#+ (.+)$/gm)].map((heading) =>
            (heading[1] as string)
              .toLowerCase()
              .replace(/[^\p{L}\p{N}\s_-]/gu, '')
              .replace(/\s/g, '-'),
          );
          if (!slugs.includes(anchor)) broken.push(`${page.slice(root.length + 1)}: ${target}#${anchor}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
