/* SPDX-License-Identifier: Apache-2.0 */
// openapi_lint.test.mjs - `redocly lint api/openapi.yaml` with the rules of
// redocly.yaml passes; and those rules are in force: a /v1 operation without
// security fails the lint (only the probes and the spec itself are public).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const redocly = join(root, 'node_modules/@redocly/cli/bin/cli.js');

// Runs redocly lint on spec with the repository's redocly.yaml; telemetry
// and the update check off (no network in tests).
function lint(spec) {
  return spawnSync(process.execPath, [redocly, 'lint', '--config', join(root, 'redocly.yaml'), '--format=stylish', spec], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    timeout: 120_000,
  });
}

test('redocly lint api/openapi.yaml passes', () => {
  const r = lint(join(root, 'api/openapi.yaml'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // warnings are shown in the log, not failed on (see redocly.yaml)
  const warnings = (r.stdout + r.stderr).split('\n').filter((l) => /^\s*\d+:\d+\s+warning\s/.test(l));
  for (const w of warnings) console.log(`# redocly: ${w.trim()}`);
});

test('redocly.yaml fails an operation without security', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmnas-redocly-'));
  try {
    cpSync(join(root, 'api'), dir, { recursive: true });
    const extra =
      '  /v1/open:\n    get:\n      operationId: getOpen\n      summary: Unsecured\n' +
      '      responses:\n        "200":\n          description: ok\n        "404":\n          description: no\n';
    const text = readFileSync(join(dir, 'openapi.yaml'), 'utf8').replace(/^paths:\n/m, 'paths:\n' + extra);
    writeFileSync(join(dir, 'openapi.yaml'), text);
    const r = lint(join(dir, 'openapi.yaml'));
    assert.notEqual(r.status, 0, 'lint passed an unsecured /v1 operation');
    assert.match(r.stdout + r.stderr, /error\s+security-defined/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
