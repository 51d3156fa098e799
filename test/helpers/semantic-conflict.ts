import { execFileSync } from 'node:child_process';

/**
 * The semantic conflict of issue 23, shared by the local and the queue landing tests: two branches
 * that merge cleanly but break each other, and a project whose check loads every module.
 */

// The project's "tests": load every module (each calls what it uses as it loads). A passing run
// records its tree in $PASSED_TREES, so a test can tell which commits passed.
export const CHECK = `
const fs = require('fs'), { execFileSync } = require('child_process');
for (const f of fs.readdirSync('.').filter((f) => f.endsWith('.js') && f !== 'check.js').sort()) require('./' + f);
if (process.env.PASSED_TREES) fs.appendFileSync(process.env.PASSED_TREES, execFileSync('git', ['rev-parse', 'HEAD^{tree}'], { encoding: 'utf8' }));
if (process.env.PERSON_REPO && (fs.appendFileSync(process.env.PERSON_MARK, 'x'), fs.readFileSync(process.env.PERSON_MARK, 'utf8').length === 2)) {
  // A person commits to main while the first candidate's check runs (the base's is the first run).
  fs.writeFileSync(process.env.PERSON_REPO + '/notes.txt', 'a note\\n');
  execFileSync('git', ['-C', process.env.PERSON_REPO, 'add', 'notes.txt']);
  execFileSync('git', ['-C', process.env.PERSON_REPO, 'commit', '-q', '-m', 'a person commits']);
}
console.log('check passed');
`;

// Issue 1 renames greet() to hello() and updates every caller it sees; issue 2 adds a new call to
// greet(). Handed a failing check (MIYABI_CHECK_LOG), an agent moves every caller to hello().
export const AGENT = `
const fs = require('fs'), { execFileSync } = require('child_process');
const commit = (m) => { execFileSync('git', ['add', '-A']); execFileSync('git', ['commit', '-q', '-m', m]); };
if (process.env.MIYABI_CHECK_LOG) {
  fs.appendFileSync(process.env.SEEN_LOGS, fs.readFileSync(process.env.MIYABI_CHECK_LOG, 'utf8') + '\\n--- ' + process.argv[1] + '\\n');
  for (const f of fs.readdirSync('.').filter((f) => f.endsWith('.js') && f !== 'lib.js' && f !== 'check.js'))
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replaceAll('greet(', 'hello('));
  commit('fix: call hello()');
} else if (process.env.MIYABI_ISSUE_NUMBER === '1') {
  fs.writeFileSync('lib.js', 'exports.hello = () => "hi";\\n');
  fs.writeFileSync('main.js', 'require("./lib").hello();\\n');
  commit('rename greet to hello');
} else {
  fs.writeFileSync('extra.js', 'require("./lib").greet();\\n');
  commit('add a call to greet');
}
`;

/** The project before either agent: `greet()` and its one caller, and the check. */
export const PROJECT_FILES: Readonly<Record<string, string>> = {
  'lib.js': 'exports.greet = () => "hi";\n',
  'main.js': 'require("./lib").greet();\n',
  'check.js': CHECK,
};

/** Whether the check passes on what the checkout at `path` holds now. */
export function passesHere(path: string): boolean {
  try {
    execFileSync(process.execPath, ['check.js'], { cwd: path, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
