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
import { createHash } from 'node:crypto';

// ids the cases share (the job the first createJob made, the models the
// download cases store for it)
const jobs = {};
// the dataset the first createDataset made
const datasets = {};

// Stores two models of job for the download cases straight in the database
// (what a worker's export writes): one with a zip and a checkpoint, one
// with neither. Returns their ids.
function storeModels(dbUrl, job) {
  const sql =
    `WITH c AS (INSERT INTO candidates (job_id, round, source, arch, arch_hash, status) ` +
    `VALUES (${job}, 1, 'random', '{}', 'dl1', 'final_done'), (${job}, 1, 'random', '{}', 'dl2', 'final_done') ` +
    `RETURNING id, arch_hash) ` +
    `INSERT INTO models (job_id, candidate_id, zip, zip_sha256, zip_size, checkpoint, checkpoint_sha256, checkpoint_size) ` +
    `SELECT ${job}, c.id, CASE WHEN c.arch_hash = 'dl1' THEN decode('${dlZip.toString('hex')}', 'hex') END, ` +
    `CASE WHEN c.arch_hash = 'dl1' THEN '${sha256(dlZip)}' END, CASE WHEN c.arch_hash = 'dl1' THEN ${dlZip.length} END, ` +
    `CASE WHEN c.arch_hash = 'dl1' THEN decode('${dlCkpt.toString('hex')}', 'hex') END, ` +
    `CASE WHEN c.arch_hash = 'dl1' THEN '${sha256(dlCkpt)}' END, CASE WHEN c.arch_hash = 'dl1' THEN ${dlCkpt.length} END ` +
    `FROM c ORDER BY c.arch_hash RETURNING id`;
  const out = execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', dbUrl, '-c', sql], {
    encoding: 'utf8',
  });
  return out.trim().split('\n').map(Number);
}

function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

// an empty zip archive (end of central directory only) and some bytes
const dlZip = Buffer.from('504b0506' + '00'.repeat(18), 'hex');
const dlCkpt = Buffer.from('lmnas checkpoint bytes for the contract test');

const tinyArch = {
  format: 'lmnas-arch/1',
  name: 'tiny',
  input: { resolution: 32, channels: 3 },
  stages: [{ block: 'mbconv', out: 16, layers: 1, kernel: 3, stride: 2, expand: 3 }],
  head: { classes: 10 },
};
// Runs sql on the contract database; its first value.
function psql(ctx, sql) {
  return execFileSync('psql', [ctx.dbUrl, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' }).trim();
}

const arch =
  '{"format": "lmnas-arch/1", "input": {"resolution": 32, "channels": 3}, "stem": null, "stages": ' +
  '[{"block": "mbconv", "out": 16, "layers": 1, "kernel": 3, "stride": 2, "expand": 3, "se": 0.25, ' +
  '"skip": "none", "act": "relu6"}], "head": {"dropout": 0.1, "classes": 100}}';

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
  {
    op: 'getJob',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/jobs/${jobs.first}?include=size`,
    status: 200,
    check: (res, body) => {
      const z = body.size;
      if (!z || z.bytes !== z.checkpoint_bytes + z.zip_bytes + z.row_bytes || z.row_bytes <= 0)
        throw new Error(`size ${JSON.stringify(z)}`);
    },
  },
  { op: 'getJob', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}`, status: 200 },
  { op: 'getJob', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}?include=x`, status: 400, code: 'invalid_parameter' },
  { op: 'getJob', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/jobs/999999', status: 404, code: 'job_not_found' },
  { op: 'listJobEvents', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}/events`, status: 200 },
  { op: 'listJobEvents', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/jobs/999999/events', status: 404, code: 'job_not_found' },
  { op: 'listJobRounds', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}/rounds`, status: 200 },
  { op: 'listJobModels', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}/models`, status: 200 },
  { op: 'getModel', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/models/999999', status: 404, code: 'model_not_found' },
  {
    name: 'GET /v1/jobs/{id}/candidates with two stored candidates, sorted by -val_top1',
    op: 'listJobCandidates',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    setup: async (ctx) => {
      jobs.cand = Number(
        psql(
          ctx,
          `INSERT INTO candidates (job_id, round, source, arch, arch_hash, status, macs, params, flash_bytes, ` +
            `sram_bytes, val_top1, val_top5, val_loss, epochs_done, rationale) VALUES (${jobs.first}, 0, 'random', ` +
            `'${arch}', 'h1', 'trained', 1000, 100, 2000, 3000, 0.25, 0.5, 3.1, 1, 'a start') RETURNING id`,
        ),
      );
      psql(
        ctx,
        `INSERT INTO candidates (job_id, round, source, arch, arch_hash, status, rejection_reason) ` +
          `VALUES (${jobs.first}, 0, 'llm', 'null', '', 'rejected', 'kernel 4 is even')`,
      );
      psql(
        ctx,
        `INSERT INTO candidate_epochs (candidate_id, phase, epoch, train_loss, val_top1, val_top5, val_loss, lr, ` +
          `seconds) VALUES (${jobs.cand}, 'proxy', 1, 3.5, 0.25, 0.5, 3.1, 0.05, 12.5)`,
      );
      psql(
        ctx,
        `INSERT INTO llm_calls (job_id, round, attempt, model, messages, reply, http_status, prompt_tokens, ` +
          `completion_tokens, latency_ms, outcome) VALUES (${jobs.first}, 0, 1, 'm', ` +
          `'[{"role": "user", "content": "propose"}]', '{}', 200, 10, 5, 120, 'ok')`,
      );
    },
    path: () => `/v1/jobs/${jobs.first}/candidates?sort=-val_top1&limit=1`,
    status: 200,
    check: (res, body) => {
      if (body.candidates.length !== 1 || body.candidates[0].id !== jobs.cand) throw new Error('not the trained one first');
      if (typeof body.next_cursor !== 'string') throw new Error('no next_cursor');
      jobs.cursor = body.next_cursor;
    },
  },
  {
    op: 'listJobCandidates',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/jobs/${jobs.first}/candidates?sort=-val_top1&cursor=${encodeURIComponent(jobs.cursor)}`,
    status: 200,
    check: (res, body) => {
      if (body.candidates.length !== 1 || body.candidates[0].status !== 'rejected') throw new Error('not the rejected one');
      if (body.next_cursor !== null) throw new Error('a third page');
    },
  },
  { op: 'listJobCandidates', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}/candidates?sort=name`, status: 400, code: 'invalid_parameter' },
  { op: 'listJobCandidates', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/jobs/999999/candidates', status: 404, code: 'job_not_found' },
  {
    op: 'getCandidate',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/jobs/${jobs.first}/candidates/${jobs.cand}`,
    status: 200,
    check: (res, body) => {
      if (!body.cost || !Array.isArray(body.cost.ops) || body.cost.ops.length < 3) throw new Error('no cost table');
      if (body.epochs.proxy.length !== 1) throw new Error('no epoch');
    },
  },
  { op: 'getCandidate', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/jobs/${jobs.first}/candidates/999999`, status: 404, code: 'candidate_not_found' },
  {
    op: 'listJobLlmCalls',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/jobs/${jobs.first}/llm-calls`,
    status: 200,
    check: (res, body) => {
      if (body.llm_calls.length !== 1 || body.llm_calls[0].outcome !== 'ok') throw new Error('not the stored call');
    },
  },
  { op: 'listJobLlmCalls', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/jobs/999999/llm-calls', status: 404, code: 'job_not_found' },
  {
    name: 'POST /v1/llm/check of a loopback port nothing listens on -> 200, ok false',
    op: 'checkLlm',
    headers: (ctx) => ctx.auth,
    method: 'POST',
    path: '/v1/llm/check',
    body: { base_url: 'http://127.0.0.1:9/v1', model: 'qwen2.5:7b' },
    status: 200,
    check: (res, body) => {
      if (body.ok !== false || body.checks[0].check !== 'reachable' || body.checks[0].ok !== false)
        throw new Error('an unreachable endpoint checked ok');
    },
  },
  {
    op: 'checkLlm',
    headers: (ctx) => ctx.auth,
    method: 'POST',
    path: '/v1/llm/check',
    body: { base_url: 'http://10.0.0.5:11434/v1', model: 'qwen2.5:7b' },
    status: 422,
    code: 'validation_failed',
    check: (res, body) => {
      if (!body.errors?.some((e) => e.field === 'base_url')) throw new Error('no error names base_url');
    },
  },
  {
    op: 'downloadModelZip',
    setup: (ctx) => {
      [jobs.model, jobs.bare] = storeModels(ctx.dbUrl, jobs.first);
    },
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/models/${jobs.model}/stm32.zip`,
    status: 200,
    check: (res, body) => {
      if (res.headers.etag !== `"${sha256(dlZip)}"`) throw new Error(`ETag ${res.headers.etag}`);
      if (Number(res.headers['content-length']) !== dlZip.length) throw new Error('Content-Length');
    },
  },
  {
    op: 'downloadModelZip',
    headers: (ctx) => ({ ...ctx.auth, Range: 'bytes=0-3' }),
    method: 'GET',
    path: () => `/v1/models/${jobs.model}/stm32.zip`,
    status: 206,
    check: (res, body) => {
      if (body !== 'PK\u0005\u0006') throw new Error(`range body ${JSON.stringify(body)}`);
      if (res.headers['content-range'] !== `bytes 0-3/${dlZip.length}`) throw new Error(res.headers['content-range']);
    },
  },
  {
    op: 'downloadModelZip',
    headers: (ctx) => ({ ...ctx.auth, 'If-None-Match': `"${sha256(dlZip)}"` }),
    method: 'GET',
    path: () => `/v1/models/${jobs.model}/stm32.zip`,
    status: 304,
  },
  {
    op: 'downloadModelZip',
    headers: (ctx) => ({ ...ctx.auth, Range: 'bytes=1000-' }),
    method: 'GET',
    path: () => `/v1/models/${jobs.model}/stm32.zip`,
    status: 416,
    code: 'range_not_satisfiable',
  },
  {
    op: 'downloadModelZip',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/models/${jobs.bare}/stm32.zip`,
    status: 404,
    code: 'artifact_not_found',
  },
  {
    op: 'downloadModelZip',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: '/v1/models/999999/stm32.zip',
    status: 404,
    code: 'model_not_found',
  },
  {
    op: 'downloadModelCheckpoint',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/models/${jobs.model}/checkpoint`,
    status: 200,
    check: (res, body) => {
      if (body !== dlCkpt.toString()) throw new Error('checkpoint bytes differ');
    },
  },
  {
    op: 'downloadModelCheckpoint',
    headers: (ctx) => ({ ...ctx.auth, Range: 'bytes=-5' }),
    method: 'GET',
    path: () => `/v1/models/${jobs.model}/checkpoint`,
    status: 206,
  },
  {
    op: 'downloadModelCheckpoint',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/models/${jobs.bare}/checkpoint`,
    status: 404,
    code: 'artifact_not_found',
  },
  {
    op: 'computeCost',
    headers: (ctx) => ctx.auth,
    method: 'POST',
    path: '/v1/cost',
    body: tinyArch,
    status: 200,
    check: (res, body) => {
      if (body.valid !== true || body.space !== null || body.cost.ops.length < 1) throw new Error('not a cost document');
    },
  },
  {
    op: 'computeCost',
    headers: (ctx) => ctx.auth,
    method: 'POST',
    path: '/v1/cost',
    body: { arch: tinyArch, space: null },
    status: 200,
  },
  {
    op: 'computeCost',
    headers: (ctx) => ctx.auth,
    method: 'POST',
    path: '/v1/cost',
    body: { ...tinyArch, stages: [{ ...tinyArch.stages[0], kernel: 4 }] },
    status: 422,
    code: 'validation_failed',
    check: (res, body) => {
      if (!body.errors?.some((e) => e.field === 'stages[0].kernel')) throw new Error('no error names the field');
    },
  },
  { op: 'computeCost', headers: (ctx) => ctx.auth, method: 'POST', path: '/v1/cost', body: '{"format": ', status: 400, code: 'invalid_json' },
  { op: 'computeCost', method: 'POST', path: '/v1/cost', body: tinyArch, status: 401, code: 'unauthenticated' },
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
  // datasets: an empty zip (its end record only, ASCII bytes: sent as a
  // string) is stored and its import fails in the background
  {
    op: 'createDataset',
    headers: (ctx) => ({ ...ctx.auth, 'content-type': 'application/zip' }),
    method: 'POST',
    path: '/v1/datasets?name=contract-ds&resolution=32',
    body: 'PK\u0005\u0006' + '\u0000'.repeat(18),
    status: 202,
    check: (res, body) => {
      datasets.first = body.id;
      if (res.headers.location !== `/v1/datasets/${body.id}`) throw new Error(`location ${res.headers.location}`);
      if (body.status !== 'importing' || body.upload_bytes !== 22) throw new Error(JSON.stringify(body));
    },
  },
  {
    op: 'createDataset',
    headers: (ctx) => ({ ...ctx.auth, 'content-type': 'application/zip' }),
    method: 'POST',
    path: '/v1/datasets?name=contract-ds',
    body: 'PK\u0005\u0006' + '\u0000'.repeat(18),
    status: 409,
    code: 'dataset_name_taken',
  },
  {
    op: 'createDataset',
    headers: (ctx) => ({ ...ctx.auth, 'content-type': 'text/plain' }),
    method: 'POST',
    path: '/v1/datasets?name=other',
    body: 'not an archive',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    op: 'createDataset',
    headers: (ctx) => ({ ...ctx.auth, 'content-type': 'application/x-tar' }),
    method: 'POST',
    path: '/v1/datasets?name=other&resolution=4',
    body: 'x',
    status: 422,
    code: 'validation_failed',
  },
  { op: 'listDatasets', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/datasets?limit=5', status: 200 },
  { op: 'listDatasets', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/datasets?limit=0', status: 400, code: 'invalid_parameter' },
  { op: 'getDataset', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/datasets/999999', status: 404, code: 'dataset_not_found' },
  {
    name: 'GET /v1/datasets/{id} once its import ended (failed: an empty archive)',
    op: 'getDataset',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/datasets/${datasets.first}`,
    status: 200,
    setup: async (ctx) => {
      for (let i = 0; i < 200 && psql(ctx, `SELECT status FROM datasets WHERE id = ${Number(datasets.first)}`) === 'importing'; i++)
        await new Promise((r) => setTimeout(r, 50));
    },
    check: (res, body) => {
      if (body.status !== 'failed' || !body.error) throw new Error(JSON.stringify(body));
    },
  },
  // samples: a failed import has none (409); the 200 with real images is
  // tests/integration/test_dataset_e2e.c (the harness has no image set)
  { op: 'getDatasetSamples', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/datasets/${datasets.first}/samples?n=2`, status: 409, code: 'dataset_not_ready' },
  { op: 'getDatasetSamples', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/datasets/999999/samples', status: 404, code: 'dataset_not_found' },
  {
    op: 'listDatasetEvents',
    headers: (ctx) => ctx.auth,
    method: 'GET',
    path: () => `/v1/datasets/${datasets.first}/events`,
    status: 200,
    check: (res, body) => {
      if (body.events[0]?.kind !== 'state' || body.events[0].data.status !== 'importing') throw new Error('no importing state first');
    },
  },
  { op: 'listDatasetEvents', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/datasets/${datasets.first}/events?after=x`, status: 400, code: 'invalid_parameter' },
  { op: 'listDatasetEvents', headers: (ctx) => ctx.auth, method: 'GET', path: '/v1/datasets/999999/events', status: 404, code: 'dataset_not_found' },
  { op: 'getDatasetSamples', headers: (ctx) => ctx.auth, method: 'GET', path: () => `/v1/datasets/${datasets.first}/samples?n=65`, status: 422, code: 'validation_failed' },
  { op: 'deleteDataset', headers: (ctx) => ctx.auth, method: 'DELETE', path: () => `/v1/datasets/${datasets.first}`, status: 204 },
  { op: 'deleteDataset', headers: (ctx) => ctx.auth, method: 'DELETE', path: () => `/v1/datasets/${datasets.first}`, status: 404, code: 'dataset_not_found' },
  { op: 'deleteJob', headers: (ctx) => ctx.auth, method: 'DELETE', path: () => `/v1/jobs/${jobs.first}`, status: 204 },
  { op: 'cancelJob', headers: (ctx) => ctx.auth, method: 'POST', path: '/v1/jobs/999999/cancel', status: 404, code: 'job_not_found' },

  // what no operation documents: problems of the server itself
  { op: null, schema: 'Problem', method: 'GET', path: '/no/such/path', status: 404, code: 'not_found' },
  { op: null, schema: 'Problem', method: 'GET', path: '/' + 'a'.repeat(4096), status: 414, code: 'uri_too_long' },
];
