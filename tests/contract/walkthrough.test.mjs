/* SPDX-License-Identifier: Apache-2.0 */
// walkthrough.test.mjs - the README's curl walk-through (the block between
// <!-- walkthrough:begin --> and <!-- walkthrough:end -->), run exactly as
// written by bash with `set -euo pipefail`: lmnas on the PATH (the build's
// binary), LMNAS_DATABASE_URL a private PostgreSQL, DATA a data root with a
// tiny CIFAR-100 set, LMNAS_LISTEN a free loopback port. It must end with
// the job succeeded and `unzip -t` content with the downloaded zip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrivatePg } from './pg.mjs';
import { lmnasBinary } from './server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// The shell block of README.md between the markers, without its fences.
export function walkthroughBlock(readme) {
  const m = readme.match(/<!-- walkthrough:begin -->\n```sh\n([\s\S]*?)```\n<!-- walkthrough:end -->/);
  if (!m) throw new Error('README.md has no walkthrough block between the markers');
  return m[1];
}

// A tiny CIFAR-100 split in the official binary layout (records of coarse
// label, fine label, 3,072 pixel bytes): 10 classes, pixels by class.
function tinyCifar(records) {
  const buf = Buffer.alloc(records * 3074);
  for (let i = 0; i < records; i++) {
    buf[i * 3074] = i % 10;
    buf[i * 3074 + 1] = i % 10;
    for (let k = 2; k < 3074; k++) buf[i * 3074 + k] = ((i % 10) * 25 + ((k * 13 + i) % 31)) & 255;
  }
  return buf;
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// Runs script with bash in cwd; resolves to {code, out} (stdout + stderr).
function bash(script, cwd, env, timeoutMs) {
  return new Promise((res) => {
    // its own process group: a timeout kills serve too
    const c = spawn('bash', ['-c', script], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n(timed out after ${timeoutMs} ms)`;
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    c.on('close', (code, sig) => {
      clearTimeout(timer);
      res({ code: code ?? 128, sig, out });
    });
  });
}

test('the block is found between the README markers', () => {
  const block = walkthroughBlock(readFileSync(join(root, 'README.md'), 'utf8'));
  assert.match(block, /lmnas token create/);
  assert.match(block, /unzip -t/);
});

test('the README curl walk-through runs as written', { timeout: 300_000 }, async () => {
  const block = walkthroughBlock(readFileSync(join(root, 'README.md'), 'utf8'));
  const pg = new PrivatePg(root);
  const work = mkdtempSync(join(tmpdir(), 'lmnas-walkthrough-'));
  try {
    pg.start();
    const data = join(work, 'data');
    mkdirSync(join(data, 'cifar-100-binary'), { recursive: true });
    writeFileSync(join(data, 'cifar-100-binary/train.bin'), tinyCifar(240));
    writeFileSync(join(data, 'cifar-100-binary/test.bin'), tinyCifar(40));
    const cwd = join(work, 'cwd');
    mkdirSync(cwd);
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LMNAS_')) env[k] = v;
    Object.assign(env, {
      PATH: `${dirname(lmnasBinary(root))}:${process.env.PATH}`,
      LMNAS_DATABASE_URL: pg.url(),
      LMNAS_LISTEN: `127.0.0.1:${await freePort()}`,
      DATA: data,
    });
    // the harness around the block: strict mode, and serve stopped
    // whatever happens
    const script = `set -euo pipefail\ntrap 'kill $(jobs -p) 2> /dev/null || true' EXIT\n${block}`;
    const r = await bash(script, cwd, env, 240_000);
    const log = existsSync(join(cwd, 'serve.log')) ? readFileSync(join(cwd, 'serve.log'), 'utf8') : '';
    assert.equal(r.code, 0, `the walk-through failed:\n${r.out}\n--- serve.log (end) ---\n${log.slice(-4000)}`);
    assert.match(r.out, /^job [0-9]+: succeeded$/m, r.out);
    // the live stream printed the job's events, its first and its last
    assert.match(r.out, /^\S+  start  /m, r.out);
    assert.match(r.out, /^\S+  end  /m, r.out);
    assert.match(r.out, /No errors detected in compressed data of lmnas-job[0-9]+-model[0-9]+\.zip/, r.out);
  } finally {
    pg.destroy();
    rmSync(work, { recursive: true, force: true });
  }
});
