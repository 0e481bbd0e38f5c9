/* SPDX-License-Identifier: Apache-2.0 */
// spec.mjs - api/openapi.yaml for the contract tests: its operations, and a
// validator of an HTTP response (status, media type, headers, body) against
// the operation's documented responses, with ajv (JSON Schema 2020-12, the
// dialect of OpenAPI 3.1) and ajv-formats.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// A base for the documents' ids: the relative $refs of the spec
// ('schemas/job.yaml#/...') and of the schema files ('space.yaml#/...')
// resolve against it exactly as they do in the tree and over HTTP.
const BASE = 'https://lmnas.invalid/api/';

function readYaml(path) {
  return parse(readFileSync(path, 'utf8'));
}

// Follows a local '#/a/b' reference inside the spec (responses, headers).
function deref(doc, node) {
  let seen = 0;
  while (node && typeof node.$ref === 'string' && node.$ref.startsWith('#/')) {
    if (++seen > 32) throw new Error(`reference loop at ${node.$ref}`);
    node = node.$ref
      .slice(2)
      .split('/')
      .reduce((n, k) => (n === undefined ? n : n[k.replace(/~1/g, '/').replace(/~0/g, '~')]), doc);
  }
  return node;
}

function pointer(...keys) {
  return '#/' + keys.map((k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

export class Spec {
  constructor(apiDir) {
    this.doc = readYaml(join(apiDir, 'openapi.yaml'));
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    // 'openapi.yaml' and every schemas/*.yaml under ids that keep their
    // relative references working.
    this.ajv.addSchema({ ...this.doc, $id: BASE + 'openapi.yaml' });
    for (const f of readdirSync(join(apiDir, 'schemas')).filter((f) => f.endsWith('.yaml'))) {
      const s = readYaml(join(apiDir, 'schemas', f));
      delete s.$schema;
      this.ajv.addSchema({ ...s, $id: BASE + 'schemas/' + f });
    }
    this.operations = [];
    for (const [path, item] of Object.entries(this.doc.paths || {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        this.operations.push({ id: op.operationId, method: method.toUpperCase(), path, op });
      }
    }
  }

  operation(id) {
    return this.operations.find((o) => o.id === id);
  }

  // Header schemas are small and inline; a local $ref in one points into
  // the spec, so it is made absolute.
  #headerValidator(schema) {
    this.headerCache ??= new WeakMap();
    let v = this.headerCache.get(schema);
    if (!v) {
      const s = schema.$ref?.startsWith('#/') ? { $ref: BASE + 'openapi.yaml' + schema.$ref } : schema;
      v = this.ajv.compile(s);
      this.headerCache.set(schema, v);
    }
    return v;
  }

  // A validating function for the schema at the spec's JSON pointer.
  #validator(ptr) {
    const ref = BASE + 'openapi.yaml' + ptr;
    const v = this.ajv.getSchema(ref);
    if (!v) throw new Error(`no schema at ${ptr}`);
    return v;
  }

  // Checks a request body a case sends where it expects success: it must be
  // valid for the operation's requestBody, so the table cannot pass by
  // sending what the contract forbids. Returns a list of problems.
  checkRequest(opId, contentType, body) {
    const o = this.operation(opId);
    if (!o) return [`operation ${opId} is not in api/openapi.yaml`];
    let rb = o.op.requestBody;
    let ptr = pointer('paths', o.path, o.method.toLowerCase(), 'requestBody');
    if (!rb) return body === undefined ? [] : [`${o.method} ${o.path} documents no request body`];
    if (rb.$ref) {
      ptr = rb.$ref;
      rb = deref(this.doc, rb);
    }
    if (body === undefined) return rb.required ? ['the request body is required'] : [];
    const type = (contentType || 'application/json').split(';')[0].trim().toLowerCase();
    const media = rb.content?.[type];
    if (!media) return [`request content-type ${type} is not one of ${Object.keys(rb.content || {}).join(', ')}`];
    if (!media.schema) return [];
    const v = this.#validator(ptr + '/content/' + type.replace(/~/g, '~0').replace(/\//g, '~1') + '/schema');
    return v(body) ? [] : [`request body does not match: ${this.ajv.errorsText(v.errors, { dataVar: 'body' })}`];
  }

  // Checks one response; returns a list of problems (empty when it conforms).
  // opId: the operation it answers, or null for a response that no
  // operation documents (an unknown path), checked against schemaName under
  // components/schemas. res: {status, headers (lower-case names), body
  // (text)}.
  check(opId, res, schemaName) {
    const errs = [];
    const type = (res.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    let media;
    let ptr;
    let declaredHeaders = {};
    if (opId === null) {
      ptr = pointer('components', 'schemas', schemaName);
      media = { schema: { $ref: ptr } };
      if (type !== 'application/problem+json' && type !== 'application/json')
        errs.push(`content-type ${type || '(none)'} is not JSON`);
    } else {
      const o = this.operation(opId);
      if (!o) return [`operation ${opId} is not in api/openapi.yaml`];
      const key = String(res.status) in o.op.responses ? String(res.status) : 'default';
      const raw = o.op.responses[key];
      if (!raw) return [`status ${res.status} is not documented for ${o.method} ${o.path} (${opId})`];
      // Keep the pointer to the resolved response so schemas are compiled
      // where they sit (their local $refs resolve inside the spec).
      let rptr = pointer('paths', o.path, o.method.toLowerCase(), 'responses', key);
      let resp = raw;
      if (raw.$ref) {
        rptr = raw.$ref;
        resp = deref(this.doc, raw);
      }
      declaredHeaders = resp.headers || {};
      const content = resp.content || {};
      if (Object.keys(content).length === 0) {
        if (res.body.length > 0) errs.push(`status ${res.status} documents no body, got ${res.body.length} bytes`);
        return errs;
      }
      if (!(type in content)) {
        errs.push(`content-type ${type || '(none)'} is not one of ${Object.keys(content).join(', ')}`);
        return errs;
      }
      media = content[type];
      ptr = rptr + '/content/' + type.replace(/~/g, '~0').replace(/\//g, '~1') + '/schema';
    }
    for (const [name, h] of Object.entries(declaredHeaders)) {
      const hd = deref(this.doc, h);
      const value = res.headers[name.toLowerCase()];
      if (value === undefined) {
        if (hd.required) errs.push(`header ${name} is required and missing`);
        continue;
      }
      if (hd.schema) {
        const v = this.#headerValidator(hd.schema);
        const val = hd.schema.type === 'integer' && /^-?[0-9]+$/.test(value) ? Number(value) : value;
        if (!v(val)) errs.push(`header ${name}: ${JSON.stringify(value)} ${this.ajv.errorsText(v.errors)}`);
      }
    }
    if (!media.schema) return errs;
    let body = res.body;
    if (type === 'application/json' || type.endsWith('+json')) {
      try {
        body = JSON.parse(res.body);
      } catch (e) {
        errs.push(`body is not JSON: ${e.message}`);
        return errs;
      }
    }
    const v = this.#validator(ptr);
    if (!v(body)) errs.push(`body does not match ${ptr}: ${this.ajv.errorsText(v.errors, { dataVar: 'body' })}`);
    return errs;
  }
}

// The operations of spec that no case exercises, as 'METHOD /path (id)'.
export function uncovered(spec, cases) {
  const covered = new Set(cases.map((c) => c.op));
  return spec.operations.filter((o) => !covered.has(o.id)).map((o) => `${o.method} ${o.path} (${o.id})`);
}
