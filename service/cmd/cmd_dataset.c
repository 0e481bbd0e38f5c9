/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_dataset.c - `lmnas dataset import PATH --name N [--resolution R]
 * [--team T]`, `lmnas dataset list|show ID|rm ID`: datasets on the database
 * directly, like `lmnas jobs`. An import runs in the foreground: PATH is a
 * directory (imported in place) or a zip / tar / tar.gz archive (extracted
 * under the data root with the checks of service/unpack first); the cache
 * goes to <data root>/datasets/<id>/cache like an upload's. Without --team
 * the dataset has no team: only admin tokens see it through the API. */
#include "auth/auth.h"
#include "cmd.h"
#include "data/data.h"
#include "queue/queue.h"
#include "unpack/unpack.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The image import (service/data's data_import_dir); serve uses the
 * same. A pointer so that the tests can run the API with a stand-in. */
const http_dataset_import_fn cmd_dataset_import = data_import_dir;

static const char usage[] =
    "usage: lmnas dataset import PATH --name NAME [--resolution R] "
    "[--team TEAM]\n"
    "       lmnas dataset list\n"
    "       lmnas dataset show ID\n"
    "       lmnas dataset rm ID [--force]\n"
    "  PATH: a folder of class folders, or a .zip / .tar / .tar.gz of one\n"
    "  --force: also a dataset left 'importing' by a crashed import (make\n"
    "  sure no server still imports it)\n";

static void progress_print(double frac, const char *what, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "\r%3.0f%% %s", frac * 100, what ? what : "");
}

static int open_db(const struct config *cfg, struct store_pool **pool)
{
	char err[CORE_ERR_LEN] = "";

	if (store_pool_open(cfg->database_url, 2, pool, err, sizeof err)) {
		fprintf(stderr, "lmnas dataset: database: %s\n", err);
		return -1;
	}
	return 0;
}

static int parse_id(const char *text, long long *out)
{
	char *end = NULL;

	errno = 0;
	*out = strtoll(text, &end, 10);
	if (errno || end == text || *end || *out <= 0) {
		fprintf(stderr, "lmnas dataset: '%s' is not an id\n", text);
		return -1;
	}
	return 0;
}

/* The import's defaults (data_import_opts_default) at the asked stored
 * resolution (0: the default). */
static struct data_import_opts import_opts(int resolution)
{
	struct data_import_opts o;

	data_import_opts_default(&o);
	if (resolution > 0)
		o.resolution = resolution;
	return o;
}

/* Extracts (an archive) and imports src for dataset id into dir. */
static enum core_status import_into(const char *src, int is_dir,
				    const char *dir, int resolution,
				    long long max_bytes, json_t **report,
				    uint64_t *expanded, char *err,
				    size_t errlen)
{
	struct unpack_limits lim = {.max_entries = 1000000,
				    .max_bytes = (uint64_t)max_bytes * 4};
	struct data_import_opts o = import_opts(resolution);
	char files[PATH_MAX + 64], cache[PATH_MAX + 64], e2[CORE_ERR_LEN];
	struct unpack_stats us = {0};
	enum core_status st = CORE_OK;

	snprintf(files, sizeof files, "%s/files", dir);
	snprintf(cache, sizeof cache, "%s/cache", dir);
	if (!is_dir)
		st = unpack_archive_extract(src, files, &lim, &us, err, errlen);
	*expanded = us.bytes;
	if (!st && !cmd_dataset_import) {
		core_errf(err, errlen, "no image import in this build");
		st = CORE_ERR_UNAVAILABLE;
	}
	if (!st)
		st = cmd_dataset_import(is_dir ? src : files, cache, &o,
					progress_print, NULL, report, err,
					errlen);
	if (!is_dir)
		unpack_tree_remove(files, e2, sizeof e2);
	return st;
}

static int dataset_import(const struct config *cfg, int argc, char **argv)
{
	const char *name = NULL, *team = NULL;
	int resolution = 0;
	const struct cmd_arg args[] = {
	    {"--name", CMD_ARG_STRING, &name, 0, 0, "the dataset's name"},
	    {"--resolution", CMD_ARG_INT, &resolution, 8, 1024,
	     "stored resolution in pixels"},
	    {"--team", CMD_ARG_STRING, &team, 0, 0, "owner team"},
	    {NULL, 0, NULL, 0, 0, NULL}};
	char err[CORE_ERR_LEN] = "", e2[CORE_ERR_LEN], root[PATH_MAX];
	char dir[PATH_MAX + 32], cache[PATH_MAX + 48], *text = NULL;
	struct queue_dataset_new d = {0};
	struct store_pool *pool = NULL;
	json_t *report = NULL;
	uint64_t expanded = 0;
	struct stat sb;
	long long id = 0;
	enum core_status st;
	int rc = 1;

	if (argc < 3 || argv[2][0] == '-' ||
	    cmd_args_parse(args, argc - 2, argv + 2, err, sizeof err) ||
	    !name) {
		fprintf(stderr, "lmnas dataset import: %s\n%s",
			err[0] ? err : "PATH and --name are required", usage);
		return 2;
	}
	if (stat(argv[2], &sb) != 0) {
		fprintf(stderr, "lmnas dataset import: %s: %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	if (!realpath(cfg->data_root, root)) {
		fprintf(stderr, "lmnas dataset import: data root %s: %s\n",
			cfg->data_root, strerror(errno));
		return 1;
	}
	if (open_db(cfg, &pool))
		return 1;
	if (team && auth_team_ensure(pool, team, &d.team_id, err, sizeof err))
		goto out;
	d.name = name;
	d.resolution = resolution;
	d.format = S_ISDIR(sb.st_mode)	     ? "directory"
		   : strstr(argv[2], ".zip") ? "zip"
					     : "tar";
	d.upload_bytes = S_ISDIR(sb.st_mode) ? 0 : (long long)sb.st_size;
	if (queue_dataset_create(pool, &d, &id, err, sizeof err))
		goto out;
	snprintf(dir, sizeof dir, "%s/datasets", root);
	mkdir(dir, 0700);
	snprintf(dir, sizeof dir, "%s/datasets/%lld", root, id);
	if (mkdir(dir, 0700) != 0) {
		core_errf(err, sizeof err, "mkdir %s: %s", dir,
			  strerror(errno));
		st = CORE_ERR_IO;
	} else
		st = import_into(argv[2], S_ISDIR(sb.st_mode), dir, resolution,
				 cfg->dataset_max_bytes, &report, &expanded,
				 err, sizeof err);
	if (report)
		text = json_dumps(report, JSON_COMPACT);
	snprintf(cache, sizeof cache, "%s/cache", dir);
	if (queue_dataset_finish(pool, id, st ? NULL : cache, text,
				 (long long)expanded, st ? err : NULL, e2,
				 sizeof e2))
		fprintf(stderr, "lmnas dataset import: %s\n", e2);
	if (st) {
		unpack_tree_remove(dir, e2, sizeof e2);
		goto out;
	}
	printf("%lld\n", id);
	fprintf(stderr, "dataset %lld (%s) ready\n", id, name);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "lmnas dataset import: %s\n", err);
	free(text);
	json_decref(report);
	store_pool_close(pool);
	return rc;
}

static int dataset_list(struct store_pool *pool)
{
	char err[CORE_ERR_LEN], *text = NULL;
	json_t *j, *d;
	size_t i;

	if (queue_datasets_page_json(pool, 0, 0, 100, &text, err, sizeof err)) {
		fprintf(stderr, "lmnas dataset list: %s\n", err);
		return 1;
	}
	j = json_loads(text, 0, NULL);
	core_free(text);
	printf("%6s %-24s %-12s %-10s %12s\n", "id", "name", "team", "status",
	       "bytes");
	json_array_foreach(json_object_get(j, "datasets"), i, d)
	{
		const char *team =
		    json_string_value(json_object_get(d, "team"));
		printf("%6lld %-24.24s %-12.12s %-10s %12lld\n",
		       (long long)json_integer_value(json_object_get(d, "id")),
		       json_string_value(json_object_get(d, "name")),
		       team ? team : "-",
		       json_string_value(json_object_get(d, "status")),
		       (long long)json_integer_value(
			   json_object_get(d, "expanded_bytes")));
	}
	json_decref(j);
	return 0;
}

int cmd_dataset(const struct config *cfg, int argc, char **argv)
{
	struct store_pool *pool = NULL;
	char err[CORE_ERR_LEN], *text = NULL, dir[PATH_MAX + 32];
	char root[PATH_MAX];
	long long id = 0;
	int rc = 1, force = 0;

	if (cmd_args_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return dataset_import(cfg, argc, argv);
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if (open_db(cfg, &pool))
			return 1;
		rc = dataset_list(pool);
		store_pool_close(pool);
		return rc;
	}
	/* rm ID --force: also a dataset left importing by a crash */
	if (argc == 4 && strcmp(argv[1], "rm") == 0 &&
	    strcmp(argv[3], "--force") == 0) {
		force = 1;
		argc = 3;
	}
	if (argc != 3 ||
	    (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "rm") != 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (parse_id(argv[2], &id))
		return 2;
	if (open_db(cfg, &pool))
		return 1;
	if (strcmp(argv[1], "show") == 0) {
		if (queue_dataset_json(pool, id, 0, &text, err, sizeof err)) {
			fprintf(stderr, "lmnas dataset show: %s\n", err);
		} else {
			printf("%s\n", text);
			rc = 0;
		}
		core_free(text);
	} else if (force ? queue_dataset_delete_forced(pool, id, NULL, err,
						       sizeof err)
			 : queue_dataset_delete(pool, id, 0, NULL, err,
						sizeof err)) {
		fprintf(stderr, "lmnas dataset rm: %s\n", err);
	} else {
		/* the directory follows from the id, never from stored text */
		if (realpath(cfg->data_root, root)) {
			snprintf(dir, sizeof dir, "%s/datasets/%lld", root, id);
			unpack_tree_remove(dir, err, sizeof err);
		}
		fprintf(stderr, "dataset %lld removed\n", id);
		rc = 0;
	}
	store_pool_close(pool);
	return rc;
}
