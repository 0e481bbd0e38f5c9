/* SPDX-License-Identifier: Apache-2.0 */
// harness.test.mjs - the contract harness checked on itself, without a
// server: the validator refuses responses that break api/openapi.yaml, and
// the coverage check names an operation that has no case. Without these a
// validator that accepted everything would pass api.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cases } from './cases.mjs';
import { Spec, uncovered } from './spec.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const spec = new Spec(join(root, 'api'));
const json = 'application/json';
const problem = 'application/problem+json';
const okProblem = (status, code) => JSON.stringify({ type: `urn:lmnas:problem:${code}`, title: 't', status, code });

test('a conforming response passes', () => {
  assert.deepEqual(
    spec.check('getHealth', { status: 200, headers: { 'content-type': json, 'x-request-id': 'r1' }, body: '{"status":"ok"}' }),
    [],
  );
  assert.deepEqual(spec.check(null, { status: 404, headers: { 'content-type': problem }, body: okProblem(404, 'not_found') }, 'Problem'), []);
});

test('a status the operation does not document is refused', () => {
  const e = spec.check('getHealth', { status: 418, headers: { 'content-type': json }, body: '{}' });
  assert.match(e.join('\n'), /status 418 is not documented for GET \/healthz/);
});

test('a body its schema refuses is refused, naming the member', () => {
  const e = spec.check('getReadiness', { status: 200, headers: { 'content-type': json }, body: '{"status":"ready"}' });
  assert.match(e.join('\n'), /must have required property 'schema_version'/);
  const p = spec.check('getReadiness', { status: 503, headers: { 'content-type': problem }, body: okProblem(503, 'Not-Snake') });
  assert.match(p.join('\n'), /body\/code must match pattern/);
});

test('a media type the response does not document is refused', () => {
  const e = spec.check('getHealth', { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' });
  assert.match(e.join('\n'), /content-type text\/plain is not one of application\/json/);
});

test('a body that is not JSON is refused', () => {
  const e = spec.check('getHealth', { status: 200, headers: { 'content-type': json }, body: '{"status":' });
  assert.match(e.join('\n'), /body is not JSON/);
});

test('a header its schema refuses is refused', () => {
  const e = spec.check('getReadiness', {
    status: 503,
    headers: { 'content-type': problem, 'retry-after': 'soon', 'x-request-id': 'has space' },
    body: okProblem(503, 'migrations_pending'),
  });
  assert.match(e.join('\n'), /header Retry-After: "soon" data must be integer/);
  assert.match(e.join('\n'), /header X-Request-Id: "has space" data must match pattern/);
});

test('an operation added to the spec without a case is listed by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmnas-contract-'));
  try {
    cpSync(join(root, 'api'), dir, { recursive: true });
    const extra =
      '  /v1/zz-extra:\n    post:\n      operationId: createExtra\n      responses:\n        "201":\n          description: created\n' +
      '  /v1/zz-extra/{id}:\n    get:\n      operationId: getExtra\n      responses:\n        "200":\n          description: the extra\n';
    const text = readFileSync(join(dir, 'openapi.yaml'), 'utf8').replace(/^paths:\n/m, 'paths:\n' + extra);
    writeFileSync(join(dir, 'openapi.yaml'), text);
    assert.deepEqual(uncovered(new Spec(dir), cases), ['POST /v1/zz-extra (createExtra)', 'GET /v1/zz-extra/{id} (getExtra)']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a request body is checked against the operation requestBody', () => {
  // createJob's requestBody is the job spec (api/schemas/job.yaml)
  const s = new Spec(join(root, 'api'));
  assert.deepEqual(s.checkRequest('createJob', undefined, { name: 'j', dataset: { path: '/data/cifar-100-binary' } }), []);
  assert.match(s.checkRequest('createJob', undefined, { dataset: { path: '/d' } }).join('\n'), /required property 'name'/);
  assert.match(s.checkRequest('createJob', undefined, undefined).join('\n'), /request body is required/);
  assert.match(s.checkRequest('getHealth', undefined, {}).join('\n'), /documents no request body/);
});
