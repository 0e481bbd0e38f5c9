/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_remote.c - `lmnas remote submit|status|events|download`: drives a
 * server's /v1 API from scripts (CI, Airflow), with an exit code per job
 * outcome so a pipeline step can branch on it without parsing text. */
#include "cmd.h"
#include "remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The exit codes (usage and README list them; scripts depend on them). */
enum remote_exit {
	REMOTE_EXIT_SUCCEEDED = 0,
	REMOTE_EXIT_FAILED = 1,
	REMOTE_EXIT_USAGE = 2,
	REMOTE_EXIT_CANCELLED = 3,
	REMOTE_EXIT_REJECTED = 4,    /* the server refused the job spec */
	REMOTE_EXIT_UNREACHABLE = 5, /* network: no answer */
	REMOTE_EXIT_ERROR = 6,	     /* auth, not found, bad reply, I/O */
	REMOTE_EXIT_PENDING = 7	     /* status: queued/running; wait timeout */
};

static const char usage[] =
    "usage: lmnas remote submit JOB.json [--wait] [--json] [--poll S] "
    "[--timeout S]\n"
    "       lmnas remote status ID [--json]\n"
    "       lmnas remote events ID [--follow] [--json] [--poll S]\n"
    "       lmnas remote download ID [--out FILE] [--checkpoint] "
    "[--model MID]\n"
    "server: --url or LMNAS_URL (default http://127.0.0.1:8080); token: "
    "LMNAS_TOKEN\n"
    "exit codes: 0 succeeded (or done), 1 job failed, 2 usage, 3 job "
    "cancelled,\n"
    "  4 job spec rejected (field errors on stderr), 5 server unreachable "
    "or network error,\n"
    "  6 refused or bad reply (token, not found, server error, file), 7 job "
    "not ended yet\n";

/* A job's progress on stderr between polls (--wait, --follow). */
struct follow {
	long long after; /* last event id shown */
	char last_status[32];
};

/* ---- helpers ------------------------------------------------------------- */

static int exit_for_status(const char *status)
{
	if (!status)
		return REMOTE_EXIT_ERROR;
	if (strcmp(status, "succeeded") == 0)
		return REMOTE_EXIT_SUCCEEDED;
	if (strcmp(status, "failed") == 0)
		return REMOTE_EXIT_FAILED;
	if (strcmp(status, "cancelled") == 0)
		return REMOTE_EXIT_CANCELLED;
	if (strcmp(status, "queued") == 0 || strcmp(status, "running") == 0)
		return REMOTE_EXIT_PENDING;
	return REMOTE_EXIT_ERROR;
}

static int ended(int code)
{
	return code == REMOTE_EXIT_SUCCEEDED || code == REMOTE_EXIT_FAILED ||
	       code == REMOTE_EXIT_CANCELLED;
}

/* A job id operand: a positive whole number. */
static int id_parse(const char *s, long long *id)
{
	char *end = NULL;

	errno = 0;
	*id = strtoll(s, &end, 10);
	return !errno && end != s && !*end && *id > 0;
}

/* Exit code for a call that did not end in a usable 2xx reply, after
 * saying why on stderr. */
static int call_failed(const char *what, enum remote_end end, long status,
		       json_t *json, const char *err)
{
	if (end == REMOTE_END_NETWORK) {
		fprintf(stderr, "lmnas remote %s: server unreachable: %s\n",
			what, err);
		return REMOTE_EXIT_UNREACHABLE;
	}
	if (end) {
		fprintf(stderr, "lmnas remote %s: %s\n", what, err);
		return REMOTE_EXIT_ERROR;
	}
	{
		char label[64];
		snprintf(label, sizeof label, "lmnas remote %s", what);
		remote_problem_print(label, status, json);
	}
	if (status == 401)
		fprintf(stderr,
			"lmnas remote %s: the server refused the token "
			"(check LMNAS_TOKEN: missing, revoked, expired "
			"or for another server)\n",
			what);
	return REMOTE_EXIT_ERROR;
}

/* GET path into *out (a 200 JSON object); else prints and returns the exit
 * code. */
static int get_json(struct remote *r, const char *what, const char *path,
		    json_t **out)
{
	struct remote_reply rep;
	char err[CORE_ERR_LEN];
	enum remote_end end =
	    remote_call(r, "GET", path, NULL, &rep, err, sizeof err);
	int code;

	*out = NULL;
	if (!end && rep.status == 200) {
		*out = rep.json;
		return 0;
	}
	code = call_failed(what, end, rep.status, rep.json, err);
	json_decref(rep.json);
	return code;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	if (s) {
		puts(s);
		free(s);
	}
	fflush(stdout);
}

static void print_event(json_t *e, int as_json, FILE *f)
{
	char msg[1024], kind[64], ts[40];
	const char *m = json_string_value(json_object_get(e, "message"));
	const char *k = json_string_value(json_object_get(e, "kind"));
	const char *t = json_string_value(json_object_get(e, "ts"));

	if (as_json) {
		char *s = json_dumps(e, JSON_COMPACT);
		if (s) {
			fprintf(f, "%s\n", s);
			free(s);
		}
		fflush(f);
		return;
	}
	remote_text_clean(msg, sizeof msg, m ? m : "");
	remote_text_clean(kind, sizeof kind, k ? k : "");
	remote_text_clean(ts, sizeof ts, t ? t : "");
	fprintf(f, "%s %s: %s\n", ts, kind, msg);
	fflush(f);
}

/* Shows the events after f->after (to out as lines, or JSON lines);
 * returns 0 or an exit code. */
static int events_poll(struct remote *r, long long id, struct follow *f,
		       int as_json, FILE *out)
{
	char path[96];
	json_t *j = NULL, *e;
	size_t i;
	int code;

	for (int pages = 0; pages < 100; pages++) {
		json_t *next;
		long long na;

		snprintf(path, sizeof path,
			 "/v1/jobs/%lld/events?after=%lld&limit=500", id,
			 f->after);
		code = get_json(r, "events", path, &j);
		if (code)
			return code;
		if (!json_is_array(json_object_get(j, "events")) ||
		    !json_is_integer(json_object_get(j, "next_after"))) {
			fprintf(stderr, "lmnas remote events: the reply has "
					"no events/next_after\n");
			json_decref(j);
			return REMOTE_EXIT_ERROR;
		}
		json_array_foreach(json_object_get(j, "events"), i, e)
		{
			print_event(e, as_json, out);
		}
		next = json_object_get(j, "next_after");
		na = json_integer_value(next);
		i = json_array_size(json_object_get(j, "events"));
		json_decref(j);
		if (na <= f->after || i == 0)
			break;
		f->after = na;
	}
	return 0;
}

/* One look at the job: its status's exit code (7 while it runs), with the
 * job JSON in *job when asked. */
static int job_poll(struct remote *r, long long id, json_t **job)
{
	char path[64];
	json_t *j = NULL;
	int code;

	snprintf(path, sizeof path, "/v1/jobs/%lld", id);
	code = get_json(r, "status", path, &j);
	if (code)
		return code;
	code = exit_for_status(json_string_value(json_object_get(j, "status")));
	if (code == REMOTE_EXIT_ERROR)
		fprintf(stderr,
			"lmnas remote: job %lld: the reply has no "
			"known status\n",
			id);
	if (job)
		*job = j;
	else
		json_decref(j);
	return code;
}

static void sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Polls the job until it ends: events as progress lines on stderr (or, for
 * `events --follow`, to stdout), a line per status change. A network error
 * is retried a few times (a server restarting); timeout_s 0 waits forever.
 * Returns the exit code of the outcome; *job (if not NULL) the last JSON. */
static int job_wait(struct remote *r, long long id, double poll_s,
		    double timeout_s, int events_out, int as_json, json_t **job)
{
	struct follow f = {0};
	double t0 = core_now_seconds();
	int code = 0, misses = 0;

	if (job)
		*job = NULL;
	for (;;) {
		json_t *j = NULL;
		const char *st;

		code = events_poll(r, id, &f, events_out ? as_json : 0,
				   events_out ? stdout : stderr);
		if (!code)
			code = job_poll(r, id, &j);
		if (code == REMOTE_EXIT_UNREACHABLE && ++misses <= 5) {
			sleep_s(poll_s * misses);
			continue;
		}
		if (code != REMOTE_EXIT_PENDING && !ended(code)) {
			json_decref(j);
			return code;
		}
		misses = 0;
		st = json_string_value(json_object_get(j, "status"));
		if (st && strcmp(st, f.last_status) != 0) {
			fprintf(stderr, "job %lld: %s\n", id, st);
			snprintf(f.last_status, sizeof f.last_status, "%s", st);
		}
		if (ended(code)) {
			/* the last events (written just before the end) */
			events_poll(r, id, &f, events_out ? as_json : 0,
				    events_out ? stdout : stderr);
			if (job)
				*job = j;
			else
				json_decref(j);
			return code;
		}
		json_decref(j);
		if (timeout_s > 0 && core_now_seconds() - t0 >= timeout_s) {
			fprintf(stderr,
				"lmnas remote: job %lld has not ended after "
				"%.0f s\n",
				id, timeout_s);
			return REMOTE_EXIT_PENDING;
		}
		sleep_s(poll_s);
	}
}

static int remote_connect(const struct config *cfg, struct remote *r)
{
	char err[CORE_ERR_LEN];

	if (remote_open(r, cfg->remote_url, getenv("LMNAS_TOKEN"), err,
			sizeof err)) {
		fprintf(stderr, "lmnas remote: %s\n", err);
		remote_close(r);
		return REMOTE_EXIT_USAGE;
	}
	return 0;
}

/* ---- subcommands --------------------------------------------------------- */

static int remote_submit(struct remote *r, int argc, char **argv)
{
	int wait = 0, as_json = 0, code;
	double poll_s = 2, timeout_s = 0;
	const struct cmd_arg args[] = {
	    {"--wait", CMD_ARG_FLAG, &wait, 0, 0,
	     "wait for the job's end; exit by its outcome"},
	    {"--json", CMD_ARG_FLAG, &as_json, 0, 0,
	     "print the server's job JSON (the final one with --wait)"},
	    {"--poll", CMD_ARG_DOUBLE, &poll_s, 0.1, 3600,
	     "seconds between polls (default 2)"},
	    {"--timeout", CMD_ARG_DOUBLE, &timeout_s, 0, 1e7,
	     "give up waiting after S seconds (exit 7); 0: never"},
	    {NULL, 0, NULL, 0, 0, NULL}};
	char err[CORE_ERR_LEN];
	const char *file = NULL;
	struct remote_reply rep;
	enum remote_end end;
	char *text = NULL;
	size_t len = 0;
	long long id;
	json_t *job = NULL;

	if (argc > 1 && argv[1][0] != '-')
		file = argv[1];
	if (!file) {
		fprintf(stderr, "lmnas remote submit: JOB.json is required\n%s",
			usage);
		return REMOTE_EXIT_USAGE;
	}
	/* argv[1] (the file) stands where a subcommand name would */
	if (cmd_args_parse(args, argc - 1, argv + 1, err, sizeof err)) {
		fprintf(stderr, "lmnas remote submit: %s\n%s", err, usage);
		return REMOTE_EXIT_USAGE;
	}
	if (core_file_read(file, REMOTE_JSON_MAX, &text, &len, err,
			   sizeof err)) {
		fprintf(stderr, "lmnas remote submit: %s\n", err);
		return REMOTE_EXIT_USAGE;
	}
	end = remote_call(r, "POST", "/v1/jobs", text, &rep, err, sizeof err);
	core_free(text);
	if (!end && (rep.status == 400 || rep.status == 413 ||
		     rep.status == 415 || rep.status == 422)) {
		remote_problem_print("lmnas remote submit: job spec rejected",
				     rep.status, rep.json);
		json_decref(rep.json);
		return REMOTE_EXIT_REJECTED;
	}
	if (end || (rep.status != 201 && rep.status != 200)) {
		code = call_failed("submit", end, rep.status, rep.json, err);
		json_decref(rep.json);
		return code;
	}
	id = json_integer_value(json_object_get(rep.json, "id"));
	if (id <= 0) {
		fprintf(stderr,
			"lmnas remote submit: the reply has no job id\n");
		json_decref(rep.json);
		return REMOTE_EXIT_ERROR;
	}
	fprintf(stderr, "job %lld submitted%s\n", id,
		rep.status == 200 ? " (an earlier submission: same job)" : "");
	if (!wait) {
		if (as_json)
			print_json(rep.json);
		else
			printf("%lld\n", id);
		json_decref(rep.json);
		return 0;
	}
	json_decref(rep.json);
	code = job_wait(r, id, poll_s, timeout_s, 0, 0, &job);
	if (job && as_json)
		print_json(job);
	else if (ended(code) || code == REMOTE_EXIT_PENDING)
		printf("%lld\n", id);
	json_decref(job);
	return code;
}

static int remote_status(struct remote *r, long long id, int argc, char **argv)
{
	int as_json = 0, code;
	const struct cmd_arg args[] = {
	    {"--json", CMD_ARG_FLAG, &as_json, 0, 0, "the server's job JSON"},
	    {NULL, 0, NULL, 0, 0, NULL}};
	char err[CORE_ERR_LEN], name[256], error[512];
	json_t *j = NULL, *counts;

	if (cmd_args_parse(args, argc, argv, err, sizeof err)) {
		fprintf(stderr, "lmnas remote status: %s\n%s", err, usage);
		return REMOTE_EXIT_USAGE;
	}
	code = job_poll(r, id, &j);
	if (!j)
		return code;
	if (as_json) {
		print_json(j);
	} else {
		counts = json_object_get(j, "counts");
		remote_text_clean(
		    name, sizeof name,
		    json_string_value(json_object_get(j, "name")));
		remote_text_clean(
		    error, sizeof error,
		    json_string_value(json_object_get(j, "error")));
		printf(
		    "job %lld (%s): %s; %lld candidates, %lld trained, "
		    "%lld models%s%s\n",
		    id, name, json_string_value(json_object_get(j, "status")),
		    json_integer_value(json_object_get(counts, "candidates")),
		    json_integer_value(json_object_get(counts, "trained")),
		    json_integer_value(json_object_get(counts, "models")),
		    error[0] ? "; error: " : "", error);
	}
	json_decref(j);
	return code;
}

static int remote_events(struct remote *r, long long id, int argc, char **argv)
{
	int follow = 0, as_json = 0;
	double poll_s = 2;
	const struct cmd_arg args[] = {
	    {"--follow", CMD_ARG_FLAG, &follow, 0, 0,
	     "keep showing events until the job ends; exit by its outcome"},
	    {"--json", CMD_ARG_FLAG, &as_json, 0, 0, "one JSON event per line"},
	    {"--poll", CMD_ARG_DOUBLE, &poll_s, 0.1, 3600,
	     "seconds between polls (default 2)"},
	    {NULL, 0, NULL, 0, 0, NULL}};
	char err[CORE_ERR_LEN];
	struct follow f = {0};

	if (cmd_args_parse(args, argc, argv, err, sizeof err)) {
		fprintf(stderr, "lmnas remote events: %s\n%s", err, usage);
		return REMOTE_EXIT_USAGE;
	}
	if (follow)
		return job_wait(r, id, poll_s, 0, 1, as_json, NULL);
	return events_poll(r, id, &f, as_json, stdout);
}

/* The model to download: mid when given, else the job's first model that
 * has the artifact. Fills its size and sha256 from the list. */
static int model_pick(struct remote *r, long long id, long long mid,
		      const char *kind, long long *out, long long *size,
		      char sha[65])
{
	char path[64];
	json_t *j = NULL, *m;
	size_t i;
	int code;

	snprintf(path, sizeof path, "/v1/jobs/%lld/models", id);
	code = get_json(r, "download", path, &j);
	if (code)
		return code;
	*out = 0;
	json_array_foreach(json_object_get(j, "models"), i, m)
	{
		json_t *a = json_object_get(m, kind);
		const char *h = json_string_value(json_object_get(a, "sha256"));
		long long mi = json_integer_value(json_object_get(m, "id"));

		if (!json_is_object(a) || !h || strlen(h) != 64 || mi <= 0 ||
		    (mid && mi != mid))
			continue;
		*out = mi;
		*size = json_integer_value(json_object_get(a, "size"));
		memcpy(sha, h, 65);
		break;
	}
	json_decref(j);
	if (!*out) {
		if (mid)
			fprintf(stderr,
				"lmnas remote download: job %lld has no model "
				"%lld with a %s\n",
				id, mid, kind);
		else
			fprintf(stderr,
				"lmnas remote download: job %lld has no model "
				"with a %s (yet)\n",
				id, kind);
		return REMOTE_EXIT_ERROR;
	}
	return 0;
}

static int remote_download_cmd(struct remote *r, long long id, int argc,
			       char **argv)
{
	const char *out = NULL;
	int ckpt = 0, code = REMOTE_EXIT_ERROR;
	uint64_t mid_arg = 0;
	const struct cmd_arg args[] = {
	    {"--out", CMD_ARG_STRING, &out, 0, 0,
	     "file to write (default job-ID-model-MID.zip or .ckpt)"},
	    {"--checkpoint", CMD_ARG_FLAG, &ckpt, 0, 0,
	     "the float checkpoint instead of the STM32 zip"},
	    {"--model", CMD_ARG_U64, &mid_arg, 1, 9e15,
	     "this model of the job (default: its first)"},
	    {NULL, 0, NULL, 0, 0, NULL}};
	const char *kind = ckpt ? "checkpoint" : "zip";
	char err[CORE_ERR_LEN], sha[65], got[65], path[96], def[96], tmp[4200];
	long long mid = 0, size = 0, bytes = 0;
	long status = 0;
	json_t *problem = NULL;
	enum remote_end end;
	FILE *f = NULL;
	int fd;

	if (cmd_args_parse(args, argc, argv, err, sizeof err)) {
		fprintf(stderr, "lmnas remote download: %s\n%s", err, usage);
		return REMOTE_EXIT_USAGE;
	}
	code = model_pick(r, id, (long long)mid_arg, kind, &mid, &size, sha);
	if (code)
		return code;
	if (!out) {
		snprintf(def, sizeof def, "job-%lld-model-%lld.%s", id, mid,
			 ckpt ? "ckpt" : "zip");
		out = def;
	}
	/* written beside the target and renamed when complete and checked:
	 * a pipeline never sees half a file under the final name */
	if (snprintf(tmp, sizeof tmp, "%s.partXXXXXX", out) >=
	    (int)sizeof tmp) {
		fprintf(stderr, "lmnas remote download: --out is too long\n");
		return REMOTE_EXIT_USAGE;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "wb"))) {
		fprintf(stderr, "lmnas remote download: %s: %s\n", out,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return REMOTE_EXIT_ERROR;
	}
	snprintf(path, sizeof path, "/v1/models/%lld/%s", mid,
		 ckpt ? "checkpoint" : "stm32.zip");
	/* the listed size bounds what is accepted (plus nothing) */
	end = remote_download(r, path, f, size > 0 ? size : 0, &status, &bytes,
			      got, &problem, err, sizeof err);
	if (fclose(f) != 0 && !end) {
		core_errf(err, sizeof err, "%s: %s", tmp, strerror(errno));
		end = REMOTE_END_BAD_REPLY;
	}
	if (end || status != 200) {
		code = call_failed("download", end, status, problem, err);
		goto fail;
	}
	if (bytes != size || strcmp(got, sha) != 0) {
		fprintf(stderr,
			"lmnas remote download: model %lld: got %lld bytes "
			"with sha256 %s; the model list says %lld bytes, %s\n",
			mid, bytes, got, size, sha);
		code = REMOTE_EXIT_ERROR;
		goto fail;
	}
	if (rename(tmp, out) != 0) {
		fprintf(stderr, "lmnas remote download: %s: %s\n", out,
			strerror(errno));
		code = REMOTE_EXIT_ERROR;
		goto fail;
	}
	fprintf(stderr, "model %lld: %lld bytes, sha256 %s -> %s\n", mid, bytes,
		got, out);
	printf("%s\n", out);
	return 0;
fail:
	json_decref(problem);
	unlink(tmp);
	return code;
}

int cmd_remote(const struct config *cfg, int argc, char **argv)
{
	struct remote r;
	long long id = 0;
	const char *sub = argc > 1 ? argv[1] : "";
	int code;

	if (cmd_args_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(sub, "submit") != 0 && strcmp(sub, "status") != 0 &&
	    strcmp(sub, "events") != 0 && strcmp(sub, "download") != 0) {
		fputs(usage, stderr);
		return REMOTE_EXIT_USAGE;
	}
	if (strcmp(sub, "submit") != 0 &&
	    (argc < 3 || !id_parse(argv[2], &id))) {
		fprintf(stderr, "lmnas remote %s: ID must be a job id\n%s", sub,
			usage);
		return REMOTE_EXIT_USAGE;
	}
	code = remote_connect(cfg, &r);
	if (code)
		return code;
	if (strcmp(sub, "submit") == 0)
		code = remote_submit(&r, argc - 1, argv + 1);
	else if (strcmp(sub, "status") == 0)
		code = remote_status(&r, id, argc - 2, argv + 2);
	else if (strcmp(sub, "events") == 0)
		code = remote_events(&r, id, argc - 2, argv + 2);
	else
		code = remote_download_cmd(&r, id, argc - 2, argv + 2);
	remote_close(&r);
	return code;
}
