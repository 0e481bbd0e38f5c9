/* SPDX-License-Identifier: Apache-2.0 */
/* test_remote.c - `lmnas remote` against a real `serve --workers 1` on a
 * real PostgreSQL: `submit --wait` exits 0 when the job succeeds, 3 when it
 * is cancelled, 4 with the field named when the spec is refused, 5 when
 * the server is unreachable, 6 with a clear message for a bad token; and
 * `download` against a scripted server: the file is written only when its
 * size and sha256 match the model list, a non-JSON reply is an error.
 * Webhooks: the succeeding job names one (a scripted receiver that fails
 * twice, then answers 200): every status change arrives in order, signed
 * with the team's secret from `lmnas team webhook-secret`, the first one
 * after two retries; a host outside --webhook-allow is a 422 naming
 * webhook.url. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/fake_llm.h"
#include "../support/testsupport.h"
#include "../support/ts_cifar.h"
#include "auth/auth.h"
#include "store/store.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct ts_pg pg;
static struct ts_proc srv;
static struct fake_llm *hook_rx; /* the webhook receiver */
static char secret[65];
static char url[256], env_db[300], env_url[128], env_tok[AUTH_TOKEN_MAX + 16],
    root[64], env_root[128], tok[AUTH_TOKEN_MAX];

static const char *space =
    "{\"format\":\"lmnas-space/1\",\"stages\":{\"min\":2,\"max\":2},"
    "\"resolution\":[16],\"block\":[\"dwsep\"],"
    "\"out\":[8],\"layers\":[1],\"kernel\":[3],\"stride\":[2],"
    "\"expand\":[2],\"se\":[0],\"skip\":[\"none\"],"
    "\"act\":[\"relu6\"],\"dropout\":[0]}";

/* A random-proposer job on the tiny data set: 1 round of 2 candidates of
 * proxy_epochs epochs, the best trained once more and exported. extra is
 * inserted as more top-level members (may be ""). */
static void job_spec(char *out, size_t len, int proxy_epochs, const char *extra)
{
	snprintf(out, len,
		 "{\"name\":\"rm\",\"dataset\":{\"kind\":\"cifar100\","
		 "\"path\":\"cifar\"},\"space\":%s,\"proposer\":\"random\","
		 "\"llm\":{\"candidates_per_round\":2},"
		 "\"budget\":{\"rounds\":1,\"max_candidates\":2,"
		 "\"proxy\":{\"epochs\":%d,\"train_fraction\":1,\"batch\":16,"
		 "\"lr\":0.1},\"final\":{\"top_k\":1,\"epochs\":1,"
		 "\"batch\":16,\"lr\":0.1}},\"export\":{\"target\":\"qemu\","
		 "\"calibration_images\":16,\"calibration\":\"percentile\","
		 "\"percentile\":99.5,\"eval_images\":16},\"threads\":1,"
		 "\"seed\":3%s}",
		 space, proxy_epochs, extra);
}

/* Writes text to a temp file; its path goes to path. */
static void write_file(char *path, size_t len, const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, len, "/tmp/lmnas-rm-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static long long sql_ll(const char *q)
{
	char out[256];

	assert_int_equal(ts_pg_exec(&pg, NULL, q, out, sizeof out), 0);
	return atoll(out);
}

/* Runs `lmnas remote ARGS` with LMNAS_URL and LMNAS_TOKEN (either may be
 * replaced); returns the exit code, the output in *log (caller frees). */
static int remote(const char *const *args, const char *url_env,
		  const char *tok_env, char **log)
{
	const char *env[] = {url_env ? url_env : env_url,
			     tok_env ? tok_env : env_tok, NULL};
	const char *argv[16];
	struct ts_proc p = {0};
	int n = 0, rc;

	argv[n++] = "remote";
	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	rc = ts_lmnas_run(&p, argv, env);
	*log = ts_proc_log_read(&p);
	unlink(p.log);
	return rc;
}

/* `lmnas team webhook-secret --team a`: the secret is the one line of 64
 * hex characters on stdout. */
static int secret_rotate(void)
{
	const char *args[] = {"team", "webhook-secret", "--team", "a", NULL};
	const char *env[] = {env_db, NULL};
	struct ts_proc p = {0};
	char *log, *l;
	int rc = ts_lmnas_run(&p, args, env);

	log = ts_proc_log_read(&p);
	unlink(p.log);
	secret[0] = '\0';
	for (l = log; rc == 0 && l && *l;
	     l = strchr(l, '\n'), l = l ? l + 1 : l)
		if (strspn(l, "0123456789abcdef") == 64 && l[64] == '\n')
			snprintf(secret, sizeof secret, "%.64s", l);
	if (!secret[0])
		fprintf(stderr, "webhook-secret: exit %d: %s\n", rc, log);
	free(log);
	return secret[0] ? 0 : -1;
}

static int group_setup(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], dir[128];
	const char *senv[] = {env_db,
			      env_root,
			      "LMNAS_WORKERS=1",
			      "LMNAS_WORKER_THREADS=1",
			      "LMNAS_WEBHOOK_ALLOW=127.0.0.1",
			      "LMNAS_WEBHOOK_ALLOW_PRIVATE=1",
			      NULL};
	long long id;

	(void)state;
	snprintf(root, sizeof root, "/tmp/lmnas-rmroot-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(dir, sizeof dir, "%s/cifar", root);
	if (mkdir(dir, 0755) || ts_cifar100_write(dir, 160, 40, 10, 3))
		return -1;
	snprintf(env_root, sizeof env_root, "LMNAS_DATA_ROOT=%s", root);
	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	snprintf(env_db, sizeof env_db, "LMNAS_DATABASE_URL=%s", url);
	if (store_pool_open(url, 1, &p, err, sizeof err) ||
	    store_migrate(p, NULL, err, sizeof err) ||
	    auth_token_create(p, "a", 0, 0, tok, &id, err, sizeof err)) {
		fprintf(stderr, "setup: %s\n", err);
		store_pool_close(p);
		return -1;
	}
	store_pool_close(p);
	snprintf(env_tok, sizeof env_tok, "LMNAS_TOKEN=%s", tok);
	if (fake_llm_start(&hook_rx) || secret_rotate())
		return -1;
	if (ts_lmnas_serve(&srv, senv))
		return -1;
	snprintf(env_url, sizeof env_url, "LMNAS_URL=%s", srv.base);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[160];

	(void)state;
	ts_proc_stop(&srv, 15, 20);
	if (hook_rx)
		fake_llm_stop(hook_rx);
	ts_pg_destroy(&pg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- against the real server ---------------------------------------------
 */

/* The hex HMAC-SHA256 of body keyed with the secret's text, as the README
 * tells receivers to compute it. */
static void hmac_hex(const char *key, const char *body, size_t len,
		     char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_non_null(HMAC(EVP_sha256(), key, (int)strlen(key),
			     (const unsigned char *)body, len, md, &n));
	assert_int_equal(n, 32);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Every request the receiver got for job id: signed with the team's
 * secret; the first delivery tried three times (500, 500, 200) with the
 * same id and body; the job's statuses in order, ending with the final
 * one and its counts. */
static void check_webhooks(long long id)
{
	char q[256], want[80], prev_id[32] = "", statuses[256] = "";
	size_t n = fake_llm_request_count(hook_rx);
	char *first_body = NULL;
	json_t *last = NULL;

	snprintf(q, sizeof q,
		 "SELECT count(*) FROM webhook_deliveries WHERE job_id = %lld "
		 "AND status = 'delivered'",
		 id);
	assert_true(sql_ll(q) >= 3);
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM webhook_deliveries WHERE job_id = %lld",
		 id);
	/* two failed attempts plus one request per delivery */
	assert_int_equal((long long)n, sql_ll(q) + 2);
	for (size_t i = 0; i < n; i++) {
		struct fake_llm_request r;
		char *sig, *did, *ts, mac[65];
		json_t *j;
		json_error_t je;

		assert_int_equal(fake_llm_request_get(hook_rx, i, &r), 0);
		assert_string_equal(r.method, "POST");
		assert_string_equal(r.path, "/hook");
		sig = fake_llm_request_header(&r, "X-Lmnas-Signature");
		did = fake_llm_request_header(&r, "X-Lmnas-Delivery");
		ts = fake_llm_request_header(&r, "X-Lmnas-Timestamp");
		assert_non_null(sig);
		assert_non_null(did);
		assert_non_null(ts);
		hmac_hex(secret, r.body, r.body_len, mac);
		snprintf(want, sizeof want, "sha256=%s", mac);
		assert_string_equal(sig, want);
		/* a signature with another key does not match */
		hmac_hex("not-the-secret", r.body, r.body_len, mac);
		assert_null(strstr(sig, mac));
		j = json_loadb(r.body, r.body_len, 0, &je);
		assert_non_null(j);
		assert_int_equal(
		    json_integer_value(json_object_get(j, "job_id")), id);
		assert_int_equal(
		    json_integer_value(json_object_get(j, "delivery")),
		    atoll(did));
		if (i == 0)
			first_body = strdup(r.body);
		else if (i < 3) { /* the first delivery, retried */
			assert_string_equal(r.body, first_body);
			assert_string_equal(did, prev_id);
		}
		if (i >= 2) {
			strcat(statuses,
			       json_string_value(json_object_get(j, "status")));
			strcat(statuses, i + 1 < n ? "," : "");
		}
		snprintf(prev_id, sizeof prev_id, "%s", did);
		json_decref(last);
		last = j;
		free(sig);
		free(did);
		free(ts);
		fake_llm_request_free(&r);
	}
	print_message("# webhook statuses: %s\n", statuses);
	assert_true(strncmp(statuses, "queued,running,", 15) == 0);
	assert_string_equal(json_string_value(json_object_get(last, "status")),
			    "succeeded");
	assert_string_equal(
	    json_string_value(json_object_get(last, "previous_status")),
	    "running");
	assert_true(json_is_true(json_object_get(last, "final")));
	assert_true(json_integer_value(json_object_get(
			json_object_get(last, "counts"), "models")) >= 1);
	assert_true(json_integer_value(json_object_get(
			json_object_get(last, "counts"), "trained")) >= 1);
	json_decref(last);
	free(first_body);
}

/* submit --wait follows the job to its end and exits 0; status says so
 * (exit 0, the server's JSON with --json). The job's webhook gets every
 * status change (check_webhooks). */
static void submit_wait_succeeds(void **state)
{
	char spec[4096], file[64], *log = NULL, q[256];
	long long id;
	int rc;

	(void)state;
	snprintf(q, sizeof q,
		 ",\"webhook\":{\"url\":\"http://127.0.0.1:%u/hook\"}",
		 fake_llm_port(hook_rx));
	job_spec(spec, sizeof spec, 1, q);
	write_file(file, sizeof file, spec);
	{
		struct fake_llm_reply s[] = {{500, "{}", 0, NULL},
					     {500, "{}", 0, NULL},
					     {200, "{}", 0, NULL}};
		assert_int_equal(fake_llm_script(hook_rx, s, 3), 0);
	}
	{
		const char *a[] = {"submit", file,  "--wait",
				   "--poll", "0.5", NULL};
		rc = remote(a, NULL, NULL, &log);
	}
	if (rc != 0)
		fail_msg("exit %d: %s", rc, log);
	assert_non_null(strstr(log, "job "));
	assert_non_null(strstr(log, ": succeeded"));
	/* progress lines came from the job's events */
	assert_non_null(strstr(log, "start: job"));
	free(log);
	unlink(file);
	id = sql_ll("SELECT max(id) FROM jobs");
	assert_int_equal(
	    sql_ll("SELECT count(*) FROM jobs WHERE status = 'succeeded'"), 1);
	snprintf(q, sizeof q, "%lld", id);
	{
		const char *a[] = {"status", q, "--json", NULL};
		rc = remote(a, NULL, NULL, &log);
	}
	assert_int_equal(rc, 0);
	assert_non_null(strstr(log, "\"status\":\"succeeded\""));
	free(log);
	/* the job's zip, downloaded from this real serve: the bytes stored */
	{
		char out[64], sha[65], want[256];
		const char *a[] = {"download", q, "--out", out, NULL};
		FILE *f;
		unsigned char *buf;
		long n;

		snprintf(out, sizeof out, "/tmp/lmnas-remote-dl-%d.zip",
			 (int)getpid());
		rc = remote(a, NULL, NULL, &log);
		if (rc != 0)
			fail_msg("download exit %d: %s", rc, log);
		free(log);
		f = fopen(out, "rb");
		assert_non_null(f);
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		n = ftell(f);
		assert_true(n > 22);
		rewind(f);
		buf = malloc((size_t)n);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		assert_memory_equal(buf, "PK", 2);
		core_sha256_hex(buf, (size_t)n, sha);
		free(buf);
		unlink(out);
		snprintf(want, sizeof want,
			 "SELECT count(*) FROM models WHERE job_id = %lld AND "
			 "zip_sha256 = '%s' AND zip_size = %ld",
			 id, sha, n);
		assert_int_equal(sql_ll(want), 1);
	}
	/* the events, once as lines and, followed, until the end (at once) */
	{
		const char *a[] = {"events", q, NULL};
		rc = remote(a, NULL, NULL, &log);
	}
	assert_int_equal(rc, 0);
	assert_non_null(strstr(log, "start: job"));
	free(log);
	{
		const char *a[] = {"events", q, "--follow", "--json", NULL};
		rc = remote(a, NULL, NULL, &log);
	}
	assert_int_equal(rc, 0);
	assert_non_null(strstr(log, "\"kind\":\"end\""));
	free(log);
	/* the retries wait 1 s and 4 s; the later deliveries queue behind */
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM webhook_deliveries WHERE job_id = %lld "
		 "AND status = 'pending'",
		 id);
	for (double t0 = core_now_seconds();
	     core_now_seconds() - t0 < 60 && sql_ll(q) > 0;)
		usleep(200000);
	assert_int_equal(sql_ll(q), 0);
	check_webhooks(id);
}

/* Usage errors exit 2 before any request; so does an unknown team for
 * `team webhook-secret` (1) without touching other teams' secrets. */
static void usage_errors(void **state)
{
	char *log = NULL;
	struct ts_proc p = {0};
	const char *env[] = {env_db, NULL};

	(void)state;
	{
		const char *a[] = {"status", "abc", NULL};
		assert_int_equal(remote(a, NULL, NULL, &log), 2);
		free(log);
	}
	{
		const char *a[] = {"submit", NULL};
		assert_int_equal(remote(a, NULL, NULL, &log), 2);
		assert_non_null(strstr(log, "JOB.json is required"));
		free(log);
	}
	{
		const char *a[] = {"submit", "/nonexistent/job.json", NULL};
		assert_int_equal(remote(a, NULL, NULL, &log), 2);
		free(log);
	}
	{
		const char *a[] = {"status", "1", NULL};
		assert_int_equal(remote(a, "LMNAS_URL=ftp://x", NULL, &log), 2);
		assert_non_null(strstr(log, "LMNAS_URL"));
		free(log);
	}
	{
		const char *a[] = {"status", "1", NULL};
		assert_int_equal(
		    remote(a, "LMNAS_URL=ftp://u:pw@127.0.0.1:1", NULL, &log),
		    2);
		assert_null(strstr(log, "pw"));
		free(log);
	}
	{
		const char *a[] = {"team", "webhook-secret", "--team", "nobody",
				   NULL};
		assert_int_equal(ts_lmnas_run(&p, a, env), 1);
		log = ts_proc_log_read(&p);
		assert_non_null(strstr(log, "no team named 'nobody'"));
		free(log);
		unlink(p.log);
	}
}

/* The server says a job failed: status exits 1 with the job's error. */
static void failed_job_exits_1(void **state)
{
	char q[64], *log = NULL;
	long long id;
	int rc;

	(void)state;
	id = sql_ll("INSERT INTO jobs (name, spec, team_id, status, error, "
		    "finished_at) VALUES ('gone', '{}', (SELECT id FROM teams "
		    "WHERE name = 'a'), 'failed', 'dataset.path: gone', now()) "
		    "RETURNING id");
	snprintf(q, sizeof q, "%lld", id);
	{
		const char *a[] = {"status", q, NULL};
		rc = remote(a, NULL, NULL, &log);
	}
	if (rc != 1)
		fail_msg("exit %d: %s", rc, log);
	assert_non_null(strstr(log, "failed"));
	assert_non_null(strstr(log, "error: dataset.path: gone"));
	free(log);
	{
		const char *a[] = {"events", q, "--follow", NULL};
		rc = remote(a, NULL, NULL, &log);
	}
	assert_int_equal(rc, 1);
	free(log);
}

/* A webhook host outside --webhook-allow: the spec is rejected (exit 4)
 * naming webhook.url. */
static void webhook_host_not_allowed(void **state)
{
	char spec[4096], file[64], *log = NULL;
	int rc;

	(void)state;
	job_spec(spec, sizeof spec, 1,
		 ",\"webhook\":{\"url\":\"https://hooks.example.com/x\"}");
	write_file(file, sizeof file, spec);
	{
		const char *a[] = {"submit", file, NULL};
		rc = remote(a, NULL, NULL, &log);
	}
	if (rc != 4)
		fail_msg("exit %d: %s", rc, log);
	assert_non_null(strstr(log, "webhook.url"));
	assert_non_null(strstr(log, "allowlist"));
	free(log);
	unlink(file);
}

/* A spec with a bad field: exit 4, the field named on stderr; no job. */
static void rejected_spec_names_field(void **state)
{
	char spec[4096], file[64], *log = NULL;
	long long before = sql_ll("SELECT count(*) FROM jobs");
	int rc;

	(void)state;
	job_spec(spec, sizeof spec, 0, "");
	write_file(file, sizeof file, spec);
	{
		const char *a[] = {"submit", file, "--wait", NULL};
		rc = remote(a, NULL, NULL, &log);
	}
	if (rc != 4)
		fail_msg("exit %d: %s", rc, log);
	assert_non_null(strstr(log, "budget.proxy.epochs"));
	assert_non_null(strstr(log, "422"));
	free(log);
	unlink(file);
	assert_int_equal(sql_ll("SELECT count(*) FROM jobs"), before);
}

/* Nothing listens: exit 5 (and fast: no retries on submit). */
static void unreachable_server(void **state)
{
	char u[80], file[64], *log = NULL;
	int rc;

	(void)state;
	write_file(file, sizeof file, "{}");
	snprintf(u, sizeof u, "LMNAS_URL=http://127.0.0.1:%d", ts_free_port());
	{
		const char *a[] = {"submit", file, NULL};
		rc = remote(a, u, NULL, &log);
	}
	if (rc != 5)
		fail_msg("exit %d: %s", rc, log);
	assert_non_null(strstr(log, "unreachable"));
	free(log);
	{
		const char *a[] = {"status", "1", NULL};
		rc = remote(a, u, NULL, &log);
	}
	assert_int_equal(rc, 5);
	free(log);
	unlink(file);
}

/* A revoked-looking token: exit 6 with a message about the token, and
 * the token's text never printed. */
static void bad_token_is_clear(void **state)
{
	const char *bad = "LMNAS_TOKEN=lmnas_999_"
			  "00000000000000000000000000000000deadbeef";
	char *log = NULL;
	int rc;

	(void)state;
	{
		const char *a[] = {"status", "1", NULL};
		rc = remote(a, NULL, bad, &log);
	}
	if (rc != 6)
		fail_msg("exit %d: %s", rc, log);
	assert_non_null(strstr(log, "401"));
	assert_non_null(strstr(log, "LMNAS_TOKEN"));
	assert_null(strstr(log, "deadbeef"));
	free(log);
	/* a token with a line break is refused before any request */
	{
		const char *a[] = {"status", "1", NULL};
		rc = remote(a, NULL, "LMNAS_TOKEN=abc\nX-Evil: 1", &log);
	}
	assert_int_equal(rc, 2);
	assert_null(strstr(log, "X-Evil"));
	free(log);
}

/* submit --wait of a job cancelled while it runs: exit 3. */
static void cancelled_job_exits_3(void **state)
{
	char spec[4096], file[64], q[160], cancel[128],
	    auth[AUTH_TOKEN_MAX + 32];
	const char *env[] = {env_url, env_tok, NULL};
	const char *h[] = {auth, NULL};
	struct ts_proc p = {0};
	struct ts_http_reply r;
	long long id = 0;
	double t0;

	(void)state;
	job_spec(spec, sizeof spec, 30, "");
	write_file(file, sizeof file, spec);
	{
		const char *a[] = {"remote", "submit", file, "--wait",
				   "--poll", "0.3",    NULL};
		assert_int_equal(ts_lmnas_spawn(&p, a, env), 0);
	}
	t0 = core_now_seconds();
	while (core_now_seconds() - t0 < 60 && !id) {
		id = sql_ll("SELECT coalesce(max(id), 0) FROM jobs WHERE "
			    "status = 'running' AND spec->'budget'->'proxy'->>"
			    "'epochs' = '30'");
		usleep(100000);
	}
	assert_true(id > 0);
	snprintf(cancel, sizeof cancel, "%s/v1/jobs/%lld/cancel", srv.base, id);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
	assert_int_equal(ts_http("POST", cancel, h, NULL, 0, 10, &r), 0);
	assert_int_equal(r.status, 202);
	ts_http_reply_free(&r);
	if (ts_proc_stop(&p, 0, 60) != 3) {
		char *log = ts_proc_log_read(&p);
		fail_msg("exit %d: %s", p.exit_code, log);
	}
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM jobs WHERE id = %lld AND status = "
		 "'cancelled'",
		 id);
	assert_int_equal(sql_ll(q), 1);
	{
		char ids[32], *log = NULL;
		snprintf(ids, sizeof ids, "%lld", id);
		const char *a[] = {"status", ids, NULL};
		assert_int_equal(remote(a, NULL, NULL, &log), 3);
		free(log);
	}
	unlink(p.log);
	unlink(file);
}

/* ---- against a scripted server -------------------------------------------
 */

/* sha256 of "PK-not-really-a-zip" (sha256sum) */
#define ZIP_BODY "PK-not-really-a-zip"
#define ZIP_SHA                                                                \
	"09d2fd20c146dae145ac0a9d1b4ac0ecfa4bdd5ecf3b0a762b84a20d6796f84a"

static void download_checks_size_and_sha(void **state)
{
	struct fake_llm *f = NULL;
	char u[96], list[512], out[96], *log = NULL;
	struct stat st;
	struct fake_llm_request rq;
	int rc;

	(void)state;
	assert_int_equal(fake_llm_start(&f), 0);
	snprintf(u, sizeof u, "LMNAS_URL=http://127.0.0.1:%u",
		 fake_llm_port(f));
	snprintf(out, sizeof out, "%s/model.zip", root);
	snprintf(list, sizeof list,
		 "{\"models\":[{\"id\":9,\"zip\":{\"size\":%zu,\"sha256\":"
		 "\"%s\"},\"checkpoint\":null}]}",
		 strlen(ZIP_BODY), ZIP_SHA);
	{
		struct fake_llm_reply s[] = {
		    {200, list, 0, NULL},
		    {200, ZIP_BODY, 0, "Content-Type: application/zip"}};
		assert_int_equal(fake_llm_script(f, s, 2), 0);
	}
	{
		const char *a[] = {"download", "5", "--out", out, NULL};
		rc = remote(a, u, NULL, &log);
	}
	if (rc != 0)
		fail_msg("exit %d: %s", rc, log);
	free(log);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_size, (off_t)strlen(ZIP_BODY));
	assert_int_equal(fake_llm_request_get(f, 1, &rq), 0);
	assert_string_equal(rq.path, "/v1/models/9/stm32.zip");
	assert_non_null(rq.authorization);
	fake_llm_request_free(&rq);
	unlink(out);

	/* a body other than the listed one: refused, nothing left behind */
	{
		struct fake_llm_reply s[] = {{200, list, 0, NULL},
					     {200, "PK-not-really-a-zip!", 0,
					      "Content-Type: application/zip"}};
		assert_int_equal(fake_llm_script(f, s, 2), 0);
	}
	{
		const char *a[] = {"download", "5", "--out", out, NULL};
		rc = remote(a, u, NULL, &log);
	}
	assert_int_equal(rc, 6);
	free(log);
	assert_int_not_equal(stat(out, &st), 0);
	{
		struct fake_llm_reply s[] = {{200, list, 0, NULL},
					     {200, "PK-not-really-a-zi", 0,
					      "Content-Type: application/zip"}};
		assert_int_equal(fake_llm_script(f, s, 2), 0);
	}
	{
		const char *a[] = {"download", "5", "--out", out, NULL};
		rc = remote(a, u, NULL, &log);
	}
	assert_int_equal(rc, 6);
	assert_non_null(strstr(log, "sha256"));
	free(log);
	assert_int_not_equal(stat(out, &st), 0);

	/* an HTML page where JSON is due */
	{
		struct fake_llm_reply s[] = {{200, "<html>proxy login</html>",
					      0, "Content-Type: text/html"}};
		assert_int_equal(fake_llm_script(f, s, 1), 0);
	}
	{
		const char *a[] = {"status", "5", NULL};
		rc = remote(a, u, NULL, &log);
	}
	assert_int_equal(rc, 6);
	assert_non_null(strstr(log, "not a JSON object"));
	free(log);
	fake_llm_stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(download_checks_size_and_sha),
	    cmocka_unit_test(unreachable_server),
	    cmocka_unit_test(bad_token_is_clear),
	    cmocka_unit_test(rejected_spec_names_field),
	    cmocka_unit_test(usage_errors),
	    cmocka_unit_test(failed_job_exits_1),
	    cmocka_unit_test(webhook_host_not_allowed),
	    cmocka_unit_test(submit_wait_succeeds),
	    cmocka_unit_test(cancelled_job_exits_3),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
