/* SPDX-License-Identifier: Apache-2.0 */
// server.mjs - `lmnas serve` as a child process for the contract tests: the
// ASan build of `make test-build` (the release binary when only that exists),
// on a free loopback port, against a given database URL; and `lmnas migrate`.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function lmnasBinary(root) {
  const build = process.env.LMNAS_BUILD || join(root, 'build');
  for (const b of [join(build, 'asan/lmnas'), join(build, 'release/lmnas')]) if (existsSync(b)) return b;
  throw new Error(`no lmnas binary under ${build} (run make test-build)`);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The environment of an lmnas child: the caller's, minus any LMNAS_* setting
// of the developer's shell, plus env.
function childEnv(env) {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LMNAS_') || k === 'LMNAS_ROOT') out[k] = v;
  return { ...out, LMNAS_LOG_FORMAT: 'json', ...env };
}

export function migrate(root, databaseUrl) {
  execFileSync(lmnasBinary(root), ['migrate'], {
    env: childEnv({ LMNAS_DATABASE_URL: databaseUrl }),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
}

// `lmnas token create --team TEAM`: the token it prints once.
export function tokenCreate(root, databaseUrl, team) {
  const out = execFileSync(lmnasBinary(root), ['token', 'create', '--team', team], {
    env: childEnv({ LMNAS_DATABASE_URL: databaseUrl }),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return out.toString().trim();
}

// Servers still running when the test process exits are killed with it.
const running = new Set();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export class Serve {
  constructor(root, databaseUrl, env = {}) {
    this.root = root;
    this.databaseUrl = databaseUrl;
    this.env = env;
    this.child = null;
    this.output = '';
  }

  // Starts serve and waits until /healthz answers (20 s); a port taken
  // between freePort() and the bind is retried, as ts_lmnas_serve does.
  async start() {
    let last = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      this.base = `http://127.0.0.1:${port}`;
      this.output = '';
      this.exit = null;
      this.child = spawn(lmnasBinary(this.root), ['serve'], {
        env: childEnv({
          LMNAS_DATABASE_URL: this.databaseUrl,
          LMNAS_LISTEN: `127.0.0.1:${port}`,
          LMNAS_WEB_DIR: join(this.root, 'web/static'),
          ...this.env,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const child = this.child;
      running.add(child);
      const exited = new Promise((resolve) =>
        child.once('exit', (code, sig) => {
          running.delete(child);
          resolve({ code, sig });
        }),
      );
      this.exited = exited;
      exited.then((e) => (this.exit = e));
      for (const s of [this.child.stdout, this.child.stderr]) s.on('data', (d) => (this.output += d));
      const end = Date.now() + 20_000;
      while (Date.now() < end && this.exit === null) {
        try {
          const r = await fetch(this.base + '/healthz');
          await r.arrayBuffer();
          return this;
        } catch {
          await sleep(100);
        }
      }
      last = this.output;
      await this.stop();
    }
    throw new Error(`lmnas serve did not come up:\n${last}`);
  }

  // SIGTERM, then SIGKILL after 15 s; resolves with {code, sig}.
  async stop() {
    if (!this.child) return null;
    if (this.exit === null) this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), 15_000);
    const e = await this.exited;
    clearTimeout(t);
    this.child = null;
    return e;
  }
}

// One request; the response as the validator takes it: {status, headers
// (lower-case names), body (text)}.
export async function request(base, { method = 'GET', path, headers = {}, body }) {
  const init = { method, headers: { ...headers }, redirect: 'manual' };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['content-type'] ??= 'application/json';
  }
  const r = await fetch(base + path, init);
  const text = await r.text();
  const h = {};
  r.headers.forEach((v, k) => (h[k] = v));
  return { status: r.status, headers: h, body: text };
}
