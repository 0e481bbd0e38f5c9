/* SPDX-License-Identifier: Apache-2.0 */
// api.test.mjs - the HTTP contract: `lmnas serve` on a private PostgreSQL,
// every case of cases.mjs sent to it, every response validated against
// api/openapi.yaml (status documented, media type, headers, body schema),
// and every operation of the spec covered by at least one case.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cases } from './cases.mjs';
import { PrivatePg } from './pg.mjs';
import { Serve, migrate, request, tokenCreate } from './server.mjs';
import { Spec, uncovered } from './spec.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const spec = new Spec(join(root, 'api'));

function caseName(c) {
  if (c.name) return c.name;
  const path = typeof c.path === 'function' ? '{computed}' : c.path.length > 60 ? c.path.slice(0, 24) + `... (${c.path.length} characters)` : c.path;
  return `${c.method} ${path} -> ${c.status}${c.op ? ` (${c.op})` : ` (${c.schema})`}${c.phase ? ` [${c.phase}]` : ''}`;
}

test('every operation of api/openapi.yaml has a contract case', () => {
  const missing = uncovered(spec, cases);
  assert.equal(
    missing.length,
    0,
    `operations of api/openapi.yaml without a case in tests/contract/cases.mjs:\n` +
      missing.map((m) => `  ${m}`).join('\n'),
  );
});

test('every contract case names an operation of api/openapi.yaml', () => {
  const ids = new Set(spec.operations.map((o) => o.id));
  const bad = cases.filter((c) => (c.op === null ? !spec.doc.components?.schemas?.[c.schema] : !ids.has(c.op)));
  assert.deepEqual(bad.map(caseName), []);
});

test('every operation has an operationId and every schema of the spec compiles', () => {
  assert.deepEqual(spec.operations.filter((o) => !o.id).map((o) => `${o.method} ${o.path}`), []);
  for (const name of Object.keys(spec.doc.components?.schemas || {}))
    assert.ok(spec.ajv.getSchema(`https://lmnas.invalid/api/openapi.yaml#/components/schemas/${name}`), name);
});

describe('lmnas serve answers as api/openapi.yaml says', () => {
  const pg = new PrivatePg(root);
  let srv;
  const ctx = {};

  // the data root of API jobs, with a tiny CIFAR-100 set in the official
  // binary layout (records of 1 + 1 + 3,072 bytes) under "cifar"
  const dataRoot = mkdtempSync(join(tmpdir(), 'lmnas-contract-data-'));
  function tinyCifar(dir, records) {
    const buf = Buffer.alloc(records * 3074);
    for (let i = 0; i < records; i++) {
      buf[i * 3074] = i % 20;
      buf[i * 3074 + 1] = i % 100;
      for (let k = 2; k < 3074; k++) buf[i * 3074 + k] = (i * 7 + k) & 255;
    }
    return buf;
  }

  before(async () => {
    pg.start();
    mkdirSync(join(dataRoot, 'cifar'));
    writeFileSync(join(dataRoot, 'cifar/train.bin'), tinyCifar('train', 200));
    writeFileSync(join(dataRoot, 'cifar/test.bin'), tinyCifar('test', 100));
    srv = await new Serve(root, pg.url(), { LMNAS_DATA_ROOT: dataRoot }).start();
    ctx.base = srv.base;
    ctx.dbUrl = pg.url();
    ctx.request = (req) => request(srv.base, req);
  });

  after(async () => {
    try {
      await srv?.stop();
    } finally {
      pg.destroy();
      rmSync(dataRoot, { recursive: true, force: true });
    }
  });

  for (const phase of ['unmigrated', 'migrated']) {
    if (phase === 'migrated') {
      test('lmnas migrate', () => migrate(root, pg.url()));
      test('lmnas token create --team contract', () => {
        ctx.auth = { Authorization: `Bearer ${tokenCreate(root, pg.url(), 'contract')}` };
      });
    }
    for (const c of cases.filter((x) => (x.phase ?? 'migrated') === phase)) {
      test(caseName(c), async () => {
        if (c.setup) await c.setup(ctx);
        const path = typeof c.path === 'function' ? c.path(ctx) : c.path;
        const headers = typeof c.headers === 'function' ? c.headers(ctx) : c.headers;
        const sent = typeof c.body === 'function' ? c.body(ctx) : c.body;
        if (c.op && c.status < 300 && typeof sent !== 'string') {
          const ct = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
          assert.deepEqual(spec.checkRequest(c.op, ct, sent), [], 'the case sends a body the spec refuses');
        }
        const res = await request(srv.base, { method: c.method, path, headers, body: sent });
        assert.equal(res.status, c.status, `status ${res.status}, body: ${res.body.slice(0, 500)}`);
        assert.deepEqual(spec.check(c.op, res, c.schema), [], `response: ${res.body.slice(0, 500)}`);
        // API conventions (info.description): every response carries an id
        assert.match(res.headers['x-request-id'] ?? '', /^[A-Za-z0-9._-]{1,64}$/);
        let body = res.body;
        if (/json/.test(res.headers['content-type'] ?? '')) body = JSON.parse(res.body);
        if ((res.headers['content-type'] ?? '').startsWith('application/problem+json')) {
          assert.equal(body.status, res.status, 'problem status differs from the HTTP status');
          assert.equal(body.type, `urn:lmnas:problem:${body.code}`);
        }
        if (c.code) assert.equal(body.code, c.code);
        if (c.check) await c.check(res, body);
      });
    }
  }

  test('lmnas serve exits 0 on SIGTERM', async () => {
    const e = await srv.stop();
    assert.deepEqual(e, { code: 0, sig: null }, srv.output.slice(-2000));
  });
});
