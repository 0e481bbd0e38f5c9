/* SPDX-License-Identifier: Apache-2.0 */
// run_sh.test.mjs - tests/run.sh counts Node tests (`--node FILE...`) in its
// closing line with the C ones, and a failing, crashing or unexpectedly
// skipped Node test fails the run. run.sh runs here on small Node test files
// written for the purpose, with its logs in a temporary BUILD directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// Runs run.sh on Node test files with the given bodies; returns {status,
// out, last} (last: the closing line).
function runSh(files, allowed) {
  const dir = mkdtempSync(join(tmpdir(), 'lmnas-runsh-node-'));
  try {
    const paths = Object.entries(files).map(([name, body]) => {
      const p = join(dir, name);
      writeFileSync(p, "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n" + body);
      return p;
    });
    const env = { ...process.env, BUILD: join(dir, 'build') };
    // node --test tells the processes it starts that they are its children
    // (they then report to it, not as TAP): run.sh's node is not
    delete env.NODE_TEST_CONTEXT;
    delete env.TEST_FILTER;
    delete env.LMNAS_ALLOWED_SKIPS;
    if (allowed !== undefined) env.LMNAS_ALLOWED_SKIPS = allowed;
    const r = spawnSync('bash', [join(root, 'tests/run.sh'), '--node', ...paths], { env, encoding: 'utf8', timeout: 60_000 });
    const out = r.stdout + r.stderr;
    return { status: r.status, out, last: out.trimEnd().split('\n').at(-1) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('passing Node tests are counted in the closing line', () => {
  const r = runSh({ 'a.test.mjs': "test('one', () => {});\ntest('two', () => {});\n" });
  assert.equal(r.last, '2 passed, 0 failed, 0 skipped', r.out);
  assert.equal(r.status, 0);
});

test('a failing Node test fails the run', () => {
  const r = runSh({ 'a.test.mjs': "test('one', () => {});\ntest('two', () => assert.equal(1, 2));\n" });
  assert.equal(r.last, '1 passed, 1 failed, 0 skipped', r.out);
  assert.notEqual(r.status, 0);
  assert.match(r.out, /^FAIL contract \(node --test\)/m);
});

test('a Node test file that crashes fails the run', () => {
  const r = runSh({ 'a.test.mjs': "throw new Error('broken import');\n" });
  assert.match(r.last, /^0 passed, [1-9][0-9]* failed, 0 skipped$/, r.out);
  assert.notEqual(r.status, 0);
});

test('a skipped Node test is a skip, unless LMNAS_ALLOWED_SKIPS leaves it out', () => {
  const files = { 'a.test.mjs': "test('one', () => {});\ntest('two', { skip: 'no tool' }, () => {});\n" };
  const open = runSh(files);
  assert.equal(open.last, '1 passed, 0 failed, 1 skipped', open.out);
  assert.equal(open.status, 0);
  const ci = runSh(files, '');
  assert.equal(ci.last, '1 passed, 1 failed, 0 skipped', ci.out);
  assert.notEqual(ci.status, 0);
});
