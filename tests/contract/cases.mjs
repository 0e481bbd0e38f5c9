/* SPDX-License-Identifier: Apache-2.0 */
// cases.mjs - the contract cases: one entry per request the contract test
// sends to `lmnas serve`. Each response is validated against the response
// that api/openapi.yaml documents for the operation and the status
// (api.test.mjs). Every operation of the spec needs at least one entry here:
// the test lists the operations that have none. To cover a new operation,
// add an entry:
//
//   { name: '...',              // optional: the test's name (default:
//                               //   method, path, status, operation)
//     op: 'operationId',        // the spec's operationId; null for a
//                               //   request no operation documents (an
//                               //   unknown path), checked against `schema`
//     method: 'GET', path: '/v1/...',  // path: a string, or (ctx) => string
//     headers: {...}, body: {...} or 'raw text',    // optional; either may
//                               //   be (ctx) => value (a token, an id);
//                               //   a JSON body of a case expecting 2xx
//                               //   must be valid for the requestBody
//     status: 200,              // the status the server must answer
//     code: 'not_found',        // optional: the problem body's `code`
//     phase: 'unmigrated',      // optional: sent before `lmnas migrate`
//     setup: async (ctx) => {}, // optional: runs first; ctx is shared by
//                               //   all cases (ctx.base, ctx.request(req),
//                               //   ctx.dbUrl), e.g. to create a job and
//                               //   keep its id for later paths
//     check: (res, body) => {}, // optional: further asserts
//   }
//
// Cases run in the order listed, on one server and one database.

import { execFileSync } from 'node:child_process';

// ids the cases share (the job the first createJob made)
const jobs = {};

export const cases = [
  // before `lmnas migrate`: up, but not ready
  { op: 'getHealth', method: 'GET', path: '/healthz', status: 200, phase: 'unmigrated' },
  { op: 'getReadiness', method: 'GET', path: '/readyz', status: 503, code: 'migrations_pending', phase: 'unmigrated' },

  // operations
  { op: 'getHealth', method: 'GET', path: '/healthz', status: 200 },
  {
    name: 'GET /healthz echoes a sane X-Request-Id',
    op: 'getHealth',
    method: 'GET',
    path: '/healthz',
    headers: { 'X-Request-Id': 'contract-test.1' },
    status: 200,
    check: (res) => {
      if (res.headers['x-request-id'] !== 'contract-test.1')
        throw new Error(`X-Request-Id not echoed: ${res.headers['x-request-id']}`);
    },
  },
  { op: 'getHealth', method: 'DELETE', path: '/healthz', status: 405, code: 'method_not_allowed' },
  { op: 'getReadiness', method: 'GET', path: '/readyz', status: 200 },
  { op: 'getReadiness', method: 'POST', path: '/readyz', body: {}, status: 405, code: 'method_not_allowed' },
  {
    op: 'getOpenApi',
    method: 'GET',
    path: '/openapi.yaml',
    status: 200,
    check: (res, body) => {
      if (!/^openapi: 3\.1\./m.test(body)) throw new Error('not an OpenAPI 3.1 document');
    },
  },

  {
    op: 'getMetrics',
    method: 'GET',
    path: '/metrics',
    status: 200,
    check: (res, body) => {
      if (!/^# TYPE lmnas_http_requests_total counter$/m.test(body))
        throw new Error('no lmnas_http_requests_total family');
      if (!/^# TYPE lmnas_jobs gauge$/m.test(body)) throw new Error('no jobs-by-status family');
    },
  },

  // jobs, with the token of team `contract` (api.test.mjs creates it after
  // `lmnas migrate`); the auth cases are in test_api_jobs
  { op: 'listJobs', method: 'GET', path: '/v1/jobs', status: 401, code: 'unauthenticated' },
  {
    op: 'createJob',
    method: 'POST',
    path: '/v1/jobs',
    headers: (ctx) => ({ ...ctx.auth, 'Idempotency-Key': 'contract-1' }),
    body: { name: 'contract', dataset: { kind: 'cifar100', path: 'cifar' }, proposer: 'random' },
    status: 201,
    check: (res, body) => {
      if (res.headers.location !== `/v1/jobs/${body.id}`) throw new Error(`Location ${res.headers.location}`);
      jobs.first = body.id;
    },
  },
  {
    name: 'POST /v1/jobs again with the same Idempotency-Key -> 200, the same job',
    op: 'createJob',
    method: 'POST',
    path: '/v1/jobs',
    headers: (ctx) => ({ ...ctx.auth, 'Idempotency-Key': 'contract-1' }),
    body: { name: 'contract', dataset: { kind: 'cifar100', path: 'cifar' }, proposer: 'random' },
    status: 200,
    check: (res, body) => {
      if (body.id !== jobs.first) throw new Error(`a second job ${body.id}`);
    },
  },
  {
    op: 'createJob',
    method: 'POST',
    path: '/v1/jobs',
    headers: (ctx) => ctx.auth,
    body: '{"name": 5, "dataset": {"path": "/etc"}}',
    status: 422,
    code: 'validation_failed',
    check: (res, body) => {
      if (!body.errors?.some((e) => e.field === 'name')) throw new Error('no error names the field');
    },
  },
  { op: 'createJob', method: 'POST', path: '/v1/jobs', headers: (ctx) => ctx.auth, body: '{"name": ', status: 400, code: 'invalid_json' },
  { op: 'listJobs', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/jobs', status: 200 },
  { op: 'listJobs', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/jobs?status=queued&limit=1', status: 200 },
  { op: 'listJobs', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/jobs?status=nonsense', status: 400 },
  { op: 'getJob', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}`, status: 200 },
  { op: 'getJob', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/jobs/999999', status: 404, code: 'job_not_found' },
  { op: 'listJobEvents', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}/events`, status: 200 },
  { op: 'listJobEvents', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/jobs/999999/events', status: 404, code: 'job_not_found' },
  { op: 'listJobRounds', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}/rounds`, status: 200 },
  { op: 'listJobModels', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}/models`, status: 200 },
  { op: 'getModel', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/models/999999', status: 404, code: 'model_not_found' },
  { op: 'getDefaultSearchSpace', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/search-spaces/default', status: 200 },
  { op: 'deleteJob', headers: (ctx) => ctx.auth, method: 'DELETE', path: () => `/v1/jobs/${jobs.first}`, status: 409 },
  { op: 'cancelJob', headers: (ctx) => ctx.auth, method: 'POST', path: () => `/v1/jobs/${jobs.first}/cancel`, status: 202 },
  {
    // the job is cancelled (ended): its stream holds its events, then ends
    name: 'GET /v1/jobs/{id}/events as Server-Sent Events (an ended job)',
    op: 'listJobEvents',
    headers: (ctx) => ({ ...ctx.auth, Accept: 'text/event-stream' }),
    method: 'GET',
    path: () => `/v1/jobs/${jobs.first}/events`,
    status: 200,
    setup: (ctx) => {
      // an event as a worker stores it
      execFileSync('psql', [ctx.dbUrl, '-qAtc',
        `INSERT INTO events (job_id, level, kind, message) VALUES (${Number(jobs.first)}, 'info', 'state', 'contract')`]);
    },
    check: (res) => {
      if (!(res.headers['content-type'] ?? '').startsWith('text/event-stream'))
        throw new Error(`content-type ${res.headers['content-type']}`);
      const blocks = res.body.split('\n\n').filter((b) => /^id: /m.test(b));
      if (blocks.length < 1) throw new Error(`no event in ${JSON.stringify(res.body)}`);
      for (const b of blocks) {
        const f = Object.fromEntries(b.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
        const e = JSON.parse(f.data);
        for (const k of ['id', 'ts', 'level', 'kind', 'message', 'data'])
          if (!(k in e)) throw new Error(`event without ${k}: ${f.data}`);
        if (String(e.id) !== f.id || e.kind !== f.event) throw new Error(`id/event lines differ from the data: ${b}`);
      }
    },
  },
  {
    op: 'listJobEvents',
    headers: (ctx) => ({ ...ctx.auth, Accept: 'text/event-stream', 'Last-Event-ID': 'x' }),
    method: 'GET',
    path: () => `/v1/jobs/${jobs.first}/events`,
    status: 400,
    code: 'invalid_parameter',
  },
  { op: 'deleteJob', headers: (ctx) => ctx.auth, method: 'DELETE', path: () => `/v1/jobs/${jobs.first}`, status: 204 },
  { op: 'cancelJob', headers: (ctx) => ctx.auth, method: 'POST', path: '/v1/jobs/999999/cancel', status: 404, code: 'job_not_found' },

  // what no operation documents: problems of the server itself
  { op: null, schema: 'Problem', method: 'GET', path: '/no/such/path', status: 404, code: 'not_found' },
  { op: null, schema: 'Problem', method: 'GET', path: '/' + 'a'.repeat(4096), status: 414, code: 'uri_too_long' },
];
