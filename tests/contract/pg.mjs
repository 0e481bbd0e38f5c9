/* SPDX-License-Identifier: Apache-2.0 */
// pg.mjs - a throwaway PostgreSQL cluster for the Node tests, started the way
// the C tests start theirs (tests/support/ts_pg.c): scripts/pg.sh in a short
// /tmp/lmpg-XXXXXX directory, unix socket only, fsync off.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const PREFIX = '/tmp/lmpg-';

// Clusters still running when the test process ends (an assertion that
// threw past the `after` hook, Ctrl-C) are stopped and removed on the way
// out, as ts_pg.c does from its fatal-signal handler.
const live = new Set();
process.once('exit', () => {
  for (const pg of live) pg.destroy();
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));

export class PrivatePg {
  // root: the repository root (where scripts/pg.sh is); pg.sh's output,
  // when it fails, is in the thrown error.
  constructor(root) {
    this.root = root;
    this.dir = null;
  }

  #sh(...args) {
    try {
      return execFileSync('bash', [join(this.root, 'scripts/pg.sh'), ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
      });
    } catch (e) {
      throw new Error(`scripts/pg.sh ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  }

  // Creates the directory, initdb's and starts the cluster, creates db lmnas.
  start() {
    this.dir = mkdtempSync(PREFIX);
    live.add(this);
    this.#sh('start', this.dir, '--fast');
    return this;
  }

  // The libpq URL of database `db` (the same form as ts_pg_url).
  url(db = 'lmnas') {
    return `postgresql:///${db}?host=${this.dir}&user=lmnas`;
  }

  // Stops the cluster and removes its directory; safe to call twice and
  // after a failed start.
  destroy() {
    if (!this.dir || !this.dir.startsWith(PREFIX) || this.dir.includes('..')) return;
    try {
      this.#sh('stop', this.dir);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      this.dir = null;
      live.delete(this);
    }
  }
}
