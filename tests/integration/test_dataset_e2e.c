/* SPDX-License-Identifier: Apache-2.0 */
/* test_dataset_e2e.c - the whole path of an uploaded dataset, in process
 * over real HTTP against a real PostgreSQL with the real image import
 * (data_import_dir): a generated ImageFolder of 3 colour classes (PNG and
 * JPEG, 24 x 24) zipped and uploaded with POST /v1/datasets, imported to
 * `ready` with the expected report, a tiny search job naming
 * `dataset: {id}` run by one job worker to `succeeded`, every candidate's
 * head following the dataset's 3 classes, and the model's STM32 zip naming
 * the input size and the dataset's own normalisation (model.h and README),
 * embedding records of the cache's test split, and, built with
 * arm-none-eabi-gcc and run under qemu-system-arm (mps2-an500), giving
 * logits identical to the host int8 engine's (skipped without them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/exportproj.h"
#include "../support/testsupport.h"
#include "../unit/imgtest.h"
#include "auth/auth.h"
#include "data/data.h"
#include "http/http.h"
#include "queue/queue.h"
#include "runner/runner.h"
#include "store/store.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIDE	  24
#define PER_CLASS 20

static struct ts_pg pg;
static char url[256];
static struct store_pool *pool;
static struct http_router *router;
static struct http_server *srv;
static struct http_app app;
static char base[64], root[PATH_MAX];
static char tok_a[AUTH_TOKEN_MAX], tok_b[AUTH_TOKEN_MAX];

static const char *const class_names[3] = {"red", "green", "blue"};

/* ---- the image set --------------------------------------------------------
 */

/* Image i of class c: the class's colour with a little noise and a
 * gradient, so the classes differ by colour and no two files are equal.
 * Even i: PNG, odd i: JPEG. Returns the encoded bytes (caller frees). */
static uint8_t *image_make(int c, int i, size_t *len, const char **ext)
{
	uint8_t px[SIDE * SIDE * 3];
	uint8_t *out;
	uint32_t s = (uint32_t)(c * 1000 + i) * 2654435761u + 1;

	for (int y = 0; y < SIDE; y++)
		for (int x = 0; x < SIDE; x++)
			for (int k = 0; k < 3; k++) {
				int v = k == c ? 200 : 30;
				s = s * 1103515245u + 12345u;
				v += (int)((s >> 16) % 40) - 20 + (x + y) / 4;
				px[(y * SIDE + x) * 3 + k] =
				    (uint8_t)(v < 0	? 0
					      : v > 255 ? 255
							: v);
			}
	if (i % 2 == 0) {
		*ext = "png";
		out = it_png(SIDE, SIDE, PNG_COLOR_TYPE_RGB, 8, px, SIDE * 3,
			     NULL, 0, len);
	} else {
		*ext = "jpg";
		out = it_jpeg(SIDE, SIDE, 3, JCS_RGB, px, 90, NULL, 0, len);
	}
	return out;
}

/* The zip of the whole set (<class>/<i>.<ext>) read into *out (free). */
static size_t zip_build(char **out)
{
	char path[PATH_MAX + 32];
	struct archive *a = archive_write_new();
	FILE *f;
	long len;

	snprintf(path, sizeof path, "%s/set.zip", root);
	archive_write_set_format_zip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (int c = 0; c < 3; c++)
		for (int i = 0; i < PER_CLASS; i++) {
			struct archive_entry *e = archive_entry_new();
			const char *ext;
			size_t n;
			uint8_t *img = image_make(c, i, &n, &ext);
			char name[64];

			snprintf(name, sizeof name, "%s/%02d.%s",
				 class_names[c], i, ext);
			archive_entry_set_pathname(e, name);
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, (la_int64_t)n);
			assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
			assert_int_equal(archive_write_data(a, img, n),
					 (la_ssize_t)n);
			archive_entry_free(e);
			free(img);
		}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	*out = malloc((size_t)len);
	assert_int_equal(fread(*out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	return (size_t)len;
}

/* ---- HTTP ------------------------------------------------------------------
 */

static void call(const char *method, const char *path, const char *token,
		 const char *ctype, const char *body, size_t len,
		 struct ts_http_reply *r)
{
	char u[512], auth[AUTH_TOKEN_MAX + 32], ct[128];
	const char *h[3] = {auth, NULL, NULL};

	snprintf(u, sizeof u, "%s%s", base, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	if (ctype) {
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
		h[1] = ct;
	}
	assert_int_equal(ts_http(method, u, h, body, len, 30, r), 0);
}

static json_t *reply_json(struct ts_http_reply *r, long status)
{
	json_error_t je;
	json_t *j;

	if (r->status != status)
		fail_msg("status %ld, wanted %ld: %s", r->status, status,
			 r->body);
	j = json_loads(r->body, 0, &je);
	if (!j)
		fail_msg("not JSON (%s): %s", je.text, r->body);
	ts_http_reply_free(r);
	return j;
}

static json_t *get_json(const char *path, const char *token, long status)
{
	struct ts_http_reply r;

	call("GET", path, token, NULL, NULL, 0, &r);
	return reply_json(&r, status);
}

/* The text of entry `suffix` (the first name ending so) of the zip in
 * (n bytes); NULL without one (caller frees). */
static char *zip_entry(const char *in, size_t n, const char *suffix)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *text = NULL;

	archive_read_support_format_zip(a);
	assert_int_equal(archive_read_open_memory(a, in, n), ARCHIVE_OK);
	while (!text && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		size_t ln = strlen(name), ls = strlen(suffix);
		la_int64_t size = archive_entry_size(e);

		if (ln < ls || strcmp(name + ln - ls, suffix) != 0)
			continue;
		text = calloc(1, (size_t)size + 1);
		assert_int_equal(archive_read_data(a, text, (size_t)size),
				 (la_ssize_t)size);
	}
	archive_read_free(a);
	return text;
}

/* The uploaded colour set's id, uploaded and imported on first use (in
 * the server's import thread, waited for). */
static long long colours_dataset(void)
{
	static long long id;
	struct ts_http_reply r;
	char *zip;
	size_t len;
	json_t *j;

	if (id)
		return id;
	len = zip_build(&zip);
	call("POST", "/v1/datasets?name=colours&resolution=64", tok_a,
	     "application/zip", zip, len, &r);
	free(zip);
	j = reply_json(&r, 202);
	id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	assert_true(id > 0);
	http_imports_drain(app.imports);
	return id;
}

/* The C literal model.h prints for the report's key ("mean", "std"). */
static void norm_literal(json_t *rep, const char *key, char *out, size_t n)
{
	json_t *a = json_object_get(rep, key);

	assert_int_equal(json_array_size(a), 3);
	snprintf(out, n, "{%.5ff, %.5ff, %.5ff}",
		 json_real_value(json_array_get(a, 0)),
		 json_real_value(json_array_get(a, 1)),
		 json_real_value(json_array_get(a, 2)));
}

/* The README's text for the report's key: "mean (R, G, B) = a, b, c". */
static void norm_readme(json_t *rep, const char *key, char *out, size_t n)
{
	json_t *a = json_object_get(rep, key);

	snprintf(out, n, "%s (R, G, B) = %.5f, %.5f, %.5f", key,
		 json_real_value(json_array_get(a, 0)),
		 json_real_value(json_array_get(a, 1)),
		 json_real_value(json_array_get(a, 2)));
}

/* Writes the zip in (n bytes) under dir; returns in proj the directory
 * holding its top-level Makefile (<dir>/<project>). */
static void zip_extract(const char *in, size_t n, const char *dir, char *proj,
			size_t cap)
{
	struct archive *a = archive_read_new();
	struct archive *w = archive_write_disk_new();
	struct archive_entry *e;

	proj[0] = 0;
	archive_read_support_format_zip(a);
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
					      ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	assert_int_equal(archive_read_open_memory(a, in, n), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char full[PATH_MAX + 600];
		const char *name = archive_entry_pathname(e);
		const char *slash = strchr(name, '/');

		if (slash && strcmp(slash, "/Makefile") == 0)
			snprintf(proj, cap, "%s/%.*s", dir, (int)(slash - name),
				 name);
		snprintf(full, sizeof full, "%s/%s", dir, name);
		archive_entry_set_pathname(e, full);
		assert_int_equal(archive_read_extract2(a, e, w), ARCHIVE_OK);
	}
	archive_write_free(w);
	archive_read_free(a);
	assert_true(proj[0] != 0);
}

/* The downloaded project built for QEMU and run on the Cortex-M7: every
 * embedded test image's logits equal the host int8 engine's (main.c
 * compares them with test_data.c's, and QEMU's exit code counts the
 * images that differ). Skipped without the Arm toolchain or QEMU. */
static void zip_runs_under_qemu(const char *zip, size_t n, int classes)
{
	static char log[1 << 16];
	char dir[] = "/tmp/lme2e-qemu-XXXXXX", proj[PATH_MAX],
	     cmd[PATH_MAX + 256];
	int8_t v[8];
	int rc, images = 0;
	const char *done;

	if (!exportproj_have("arm-none-eabi-gcc") ||
	    !exportproj_have("qemu-system-arm")) {
		print_message("SKIP (QEMU part): arm-none-eabi-gcc or "
			      "qemu-system-arm not found (scripts/deps.sh "
			      "installs gcc-arm-none-eabi, "
			      "libnewlib-arm-none-eabi, qemu-system-arm)\n");
		return;
	}
	assert_true(classes <= (int)sizeof v);
	assert_non_null(mkdtemp(dir));
	zip_extract(zip, n, dir, proj, sizeof proj);
	snprintf(cmd, sizeof cmd,
		 "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C '%s' "
		 "TARGET=qemu 2>&1",
		 proj);
	if (exportproj_run(cmd, log, sizeof log) != 0)
		fail_msg("make TARGET=qemu failed:\n%s", log);
	assert_null(strstr(log, "warning"));
	snprintf(cmd, sizeof cmd,
		 "timeout 60 qemu-system-arm -M mps2-an500 -nographic -monitor "
		 "none -semihosting -kernel '%s/build/qemu/model.elf' 2>&1",
		 proj);
	rc = exportproj_run(cmd, log, sizeof log);
	done = strstr(log, "done: ");
	if (rc != 0 || !done || sscanf(done, "done: %*d of %d", &images) != 1)
		fail_msg("qemu exit %d:\n%s", rc, log);
	if (strncmp(done, "done: 0 of", 10) != 0)
		fail_msg("logits differ from the host int8 engine:\n%s", log);
	/* every image printed its logits: the comparison ran for each */
	assert_true(images >= 1);
	for (int i = 0; i < images; i++)
		if (exportproj_logits(log, i, v, (size_t)classes))
			fail_msg("no logits of image %d in:\n%s", i, log);
	print_message("# qemu mps2-an500: %d test images of the uploaded set, "
		      "logits identical to the host int8 engine\n",
		      images);
	exportproj_rmtree(dir);
}

/* Reads n ints after the "= {" that follows key in text into v. */
static void c_array(const char *text, const char *key, int *v, int n)
{
	const char *p = strstr(text, key);
	char *end;

	assert_non_null(p);
	p = strstr(p, "= {");
	assert_non_null(p);
	p += 3;
	for (int i = 0; i < n; i++) {
		while (*p && *p != '-' && (*p < '0' || *p > '9'))
			p++;
		v[i] = (int)strtol(p, &end, 10);
		assert_true(end != p);
		p = end;
	}
}

/* Where embedded image x (int8, SIDE x SIDE x 3) came from: the index of
 * the record of ds whose pixels, normalised with mean/std and quantized
 * with scale/zp as model.h says, equal x within 1 (float rounding), or
 * -1. */
static int record_of(const struct data_set *ds, const int *x, double scale,
		     int zp, const float *mean, const float *std)
{
	const size_t nb = SIDE * SIDE * 3;

	for (int r = 0; r < ds->n; r++) {
		const uint8_t *px = ds->pixels + (size_t)r * nb;
		size_t k;

		for (k = 0; k < nb; k++) {
			double real =
			    ((double)px[k] / 255.0 - mean[k % 3]) / std[k % 3];
			long q = lround(real / scale) + zp;

			q = q < -128 ? -128 : q > 127 ? 127 : q;
			if (labs(q - x[k]) > 1)
				break;
		}
		if (k == nb)
			return r;
	}
	return -1;
}

/* The project's embedded test images are records of the cache's test
 * split (with their labels), none of its training split. */
static void embedded_from_test_split(const char *zip, size_t n, long long id)
{
	char dir[PATH_MAX + 64], err[CORE_ERR_LEN], *td, *mh, *p;
	struct data_set train, test;
	int count, *x, lab[16];
	double scale;
	int zp;

	td = zip_entry(zip, n, "/test_data.c");
	mh = zip_entry(zip, n, "/model.h");
	assert_non_null(td);
	assert_non_null(mh);
	p = strstr(mh, "#define MODEL_INPUT_SCALE");
	assert_non_null(p);
	scale = strtod(p + strlen("#define MODEL_INPUT_SCALE"), NULL);
	p = strstr(mh, "#define MODEL_INPUT_ZERO_POINT");
	assert_non_null(p);
	zp =
	    (int)strtol(p + strlen("#define MODEL_INPUT_ZERO_POINT"), NULL, 10);
	assert_true(scale > 0);
	count = 0;
	for (p = td; (p = strstr(p, "\n    {")) != NULL; p++)
		count++;
	/* images, then expected logits: one brace row each */
	count /= 2;
	assert_true(count >= 1 && count <= 16);
	snprintf(dir, sizeof dir, "%s/datasets/%lld/cache", root, id);
	if (data_set_load(dir, DATA_KIND_CACHE, DATA_SPLIT_TEST, &test, err,
			  sizeof err) ||
	    data_set_load(dir, DATA_KIND_CACHE, DATA_SPLIT_TRAIN, &train, err,
			  sizeof err))
		fail_msg("%s: %s", dir, err);
	assert_int_equal(test.height, SIDE);
	assert_true(test.has_stats);
	x = malloc(sizeof *x * (size_t)count * SIDE * SIDE * 3);
	assert_non_null(x);
	c_array(td, "model_test_images", x, count * SIDE * SIDE * 3);
	c_array(td, "model_test_labels", lab, count);
	for (int i = 0; i < count; i++) {
		const int *xi = x + (size_t)i * SIDE * SIDE * 3;
		int r = record_of(&test, xi, scale, zp, test.mean, test.std);

		if (r < 0)
			fail_msg("embedded image %d is no record of the test "
				 "split",
				 i);
		assert_int_equal(lab[i], test.labels[r]);
		assert_int_equal(
		    record_of(&train, xi, scale, zp, test.mean, test.std), -1);
	}
	print_message("# %d embedded test images: records of the cache's test "
		      "split (%d records), with their labels\n",
		      count, test.n);
	data_set_free(&test);
	data_set_free(&train);
	free(x);
	free(td);
	free(mh);
}

/* ---- the test --------------------------------------------------------------
 */

static const char *space =
    "{\"format\":\"lmnas-space/1\",\"stages\":{\"min\":2,\"max\":2},"
    "\"resolution\":[24],\"block\":[\"dwsep\"],"
    "\"out\":[8,16],\"layers\":[1],\"kernel\":[3],\"stride\":[2],"
    "\"expand\":[2],\"se\":[0],\"skip\":[\"none\"],"
    "\"act\":[\"relu6\",\"swish\"],\"dropout\":[0]}";

static void uploaded_dataset_trains_and_exports(void **state)
{
	char path[256], spec[4096], *text;
	struct ts_http_reply r;
	struct runner_worker_config wc;
	volatile int stop = 0;
	char err[CORE_ERR_LEN], want[160], want_std[160], rd_mean[160],
	    rd_std[160];
	long long id, job, mid;
	json_t *j, *rep, *e;
	size_t i;
	int jobs = 0;

	(void)state;
	id = colours_dataset();
	snprintf(path, sizeof path, "/v1/datasets/%lld", id);
	j = get_json(path, tok_a, 200);
	if (strcmp(json_string_value(json_object_get(j, "status")), "ready"))
		fail_msg("dataset not ready: %s", json_dumps(j, JSON_COMPACT));
	rep = json_object_get(j, "report");
	/* classes in sorted order, every image counted in one split */
	assert_int_equal(json_array_size(json_object_get(rep, "classes")), 3);
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(rep, "classes"), 0)),
			    "blue");
	{
		json_t *counts = json_object_get(rep, "counts"), *split;
		const char *k;
		for (int c = 0; c < 3; c++) {
			long long total = 0;
			json_object_foreach(counts, k, split) total +=
			    json_integer_value(
				json_object_get(split, class_names[c]));
			assert_int_equal(total, PER_CLASS);
		}
		assert_true(json_integer_value(json_object_get(
				json_object_get(counts, "train"), "red")) > 0);
	}
	/* the stored side is the images' (24 < the 64 cap) */
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(rep, "stored"), "height")),
			 SIDE);
	/* the dataset's normalisation, as the export must print it: the red
	 * channel's mean is the mean of one high class and two low ones */
	norm_literal(rep, "mean", want, sizeof want);
	norm_literal(rep, "std", want_std, sizeof want_std);
	norm_readme(rep, "mean", rd_mean, sizeof rd_mean);
	norm_readme(rep, "std", rd_std, sizeof rd_std);
	assert_true(json_real_value(json_array_get(json_object_get(rep, "mean"),
						   0)) > 0.25);
	assert_true(json_real_value(json_array_get(json_object_get(rep, "mean"),
						   0)) < 0.45);
	json_decref(j);

	/* a tiny job on it */
	snprintf(spec, sizeof spec,
		 "{\"name\":\"e2e\",\"dataset\":{\"id\":%lld},\"space\":%s,"
		 "\"proposer\":\"random\","
		 "\"llm\":{\"candidates_per_round\":2},"
		 "\"budget\":{\"rounds\":1,\"max_candidates\":2,"
		 "\"proxy\":{\"epochs\":1,\"train_fraction\":1,\"batch\":16,"
		 "\"lr\":0.1},\"final\":{\"top_k\":1,\"epochs\":1,"
		 "\"batch\":16,\"lr\":0.1}},\"export\":{\"target\":\"qemu\","
		 "\"calibration_images\":8,\"calibration\":\"percentile\","
		 "\"percentile\":99.5,\"eval_images\":6},\"threads\":1,"
		 "\"seed\":7}",
		 id, space);
	call("POST", "/v1/jobs", tok_a, "application/json", spec, strlen(spec),
	     &r);
	j = reply_json(&r, 201);
	job = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	memset(&wc, 0, sizeof wc);
	wc.job.worker = "e2e-worker";
	wc.job.lease_s = 30;
	wc.job.stop = &stop;
	wc.once = 1;
	assert_int_equal(runner_worker_run(pool, &wc, &jobs, err, sizeof err),
			 CORE_OK);
	assert_int_equal(jobs, 1);
	snprintf(path, sizeof path, "/v1/jobs/%lld", job);
	j = get_json(path, tok_a, 200);
	if (strcmp(json_string_value(json_object_get(j, "status")),
		   "succeeded"))
		fail_msg("job: %s", json_dumps(j, JSON_COMPACT));
	json_decref(j);

	/* every candidate's head follows the dataset's 3 classes */
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates", job);
	j = get_json(path, tok_a, 200);
	assert_int_equal(json_array_size(json_object_get(j, "candidates")), 2);
	json_array_foreach(json_object_get(j, "candidates"), i, e)
	{
		json_t *one;
		char cp[128];
		snprintf(
		    cp, sizeof cp, "/v1/jobs/%lld/candidates/%lld", job,
		    (long long)json_integer_value(json_object_get(e, "id")));
		one = get_json(cp, tok_a, 200);
		assert_int_equal(
		    json_integer_value(json_object_get(
			json_object_get(json_object_get(one, "arch"), "head"),
			"classes")),
		    3);
		json_decref(one);
	}
	json_decref(j);

	/* the model: its zip names the input size and the normalisation */
	snprintf(path, sizeof path, "/v1/jobs/%lld/models", job);
	j = get_json(path, tok_a, 200);
	assert_int_equal(json_array_size(json_object_get(j, "models")), 1);
	mid = json_integer_value(json_object_get(
	    json_array_get(json_object_get(j, "models"), 0), "id"));
	json_decref(j);
	snprintf(path, sizeof path, "/v1/models/%lld/stm32.zip", mid);
	call("GET", path, tok_a, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	text = zip_entry(r.body, r.len, "/model.h");
	assert_non_null(text);
	assert_non_null(strstr(text, "Input: 24 x 24 x 3"));
	if (!strstr(text, want) || !strstr(text, want_std))
		fail_msg("model.h lacks the dataset's mean %s or std %s", want,
			 want_std);
	free(text);
	text = zip_entry(r.body, r.len, "README.md");
	assert_non_null(text);
	assert_non_null(strstr(text, "24 x 24 x 3"));
	/* the README states what to feed: size, channel order, layout and
	 * the data set's own normalisation */
	assert_non_null(strstr(text, "| input image | 24 x 24 pixels, 3 "
				     "channels in RGB order, HWC"));
	assert_non_null(strstr(text, "(p / 255 - mean[c]) / std[c]"));
	if (!strstr(text, rd_mean) || !strstr(text, rd_std))
		fail_msg("README lacks \"%s\" or \"%s\":\n%s", rd_mean, rd_std,
			 text);
	free(text);
	embedded_from_test_split(r.body, r.len, id);
	zip_runs_under_qemu(r.body, r.len, 3);
	ts_http_reply_free(&r);
	/* another team sees neither the dataset nor the model */
	snprintf(path, sizeof path, "/v1/datasets/%lld", id);
	call("GET", path, tok_b, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	ts_http_reply_free(&r);
}

/* Decodes the base64 PNG b64 into RGB px (w x h at most SIDE x SIDE). */
static void png_decode(const char *b64, uint8_t *px, int *w, int *h)
{
	size_t n = strlen(b64);
	unsigned char *bin = malloc(n);
	png_image img;
	int len;

	assert_non_null(bin);
	len = EVP_DecodeBlock(bin, (const unsigned char *)b64, (int)n);
	assert_true(len > 8);
	while (n > 0 && b64[n - 1] == '=') /* DecodeBlock keeps the pad */
		n--, len--;
	memset(&img, 0, sizeof img);
	img.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_memory(&img, bin, (size_t)len));
	img.format = PNG_FORMAT_RGB;
	assert_true(img.width <= SIDE && img.height <= SIDE);
	assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
	*w = (int)img.width;
	*h = (int)img.height;
	free(bin);
}

static void samples_are_pngs_of_the_class(void **state)
{
	long long id = colours_dataset();
	char path[256], out[64], sql[256];
	uint8_t px[SIDE * SIDE * 3];
	json_t *j, *e;
	size_t i;
	struct ts_http_reply r;

	(void)state;
	/* 5 of class red: PNGs of the stored size, red dominant */
	snprintf(path, sizeof path, "/v1/datasets/%lld/samples?class=red&n=5",
		 id);
	j = get_json(path, tok_a, 200);
	assert_int_equal(json_array_size(json_object_get(j, "samples")), 5);
	json_array_foreach(json_object_get(j, "samples"), i, e)
	{
		long sum[3] = {0, 0, 0};
		int w, h;
		assert_string_equal(
		    json_string_value(json_object_get(e, "class")), "red");
		assert_non_null(json_string_value(json_object_get(e, "split")));
		png_decode(json_string_value(json_object_get(e, "png_base64")),
			   px, &w, &h);
		assert_int_equal(w, SIDE);
		assert_int_equal(h, SIDE);
		for (int p = 0; p < w * h; p++)
			for (int k = 0; k < 3; k++)
				sum[k] += px[p * 3 + k];
		assert_true(sum[0] > 3 * sum[1] && sum[0] > 3 * sum[2]);
	}
	json_decref(j);
	/* default n: 8; without a class, any: n = 64 gives all 60 */
	snprintf(path, sizeof path, "/v1/datasets/%lld/samples?class=blue", id);
	j = get_json(path, tok_a, 200);
	assert_int_equal(json_array_size(json_object_get(j, "samples")), 8);
	json_decref(j);
	snprintf(path, sizeof path, "/v1/datasets/%lld/samples?n=64", id);
	j = get_json(path, tok_a, 200);
	assert_int_equal(json_array_size(json_object_get(j, "samples")),
			 3 * PER_CLASS);
	json_decref(j);
	/* errors: unknown class and n out of range name the field */
	snprintf(path, sizeof path, "/v1/datasets/%lld/samples?class=nope", id);
	call("GET", path, tok_a, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 422);
	assert_non_null(strstr(r.body, "\"field\":\"class\""));
	ts_http_reply_free(&r);
	snprintf(path, sizeof path, "/v1/datasets/%lld/samples?n=65", id);
	call("GET", path, tok_a, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 422);
	assert_non_null(strstr(r.body, "\"field\":\"n\""));
	ts_http_reply_free(&r);
	/* another team's: 404 like a missing one */
	snprintf(path, sizeof path, "/v1/datasets/%lld/samples", id);
	call("GET", path, tok_b, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "dataset_not_found"));
	ts_http_reply_free(&r);
	/* one still importing: 409 */
	snprintf(sql, sizeof sql,
		 "INSERT INTO datasets (team_id, name, format) SELECT "
		 "team_id, 'pending', 'zip' FROM datasets WHERE id = %lld "
		 "RETURNING id",
		 id);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, out, sizeof out), 0);
	snprintf(path, sizeof path, "/v1/datasets/%s/samples", out);
	call("GET", path, tok_a, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 409);
	assert_non_null(strstr(r.body, "dataset_not_ready"));
	ts_http_reply_free(&r);
}

static int group_setup(void **state)
{
	char err[CORE_ERR_LEN], tmp[] = "/tmp/lme2e-XXXXXX";
	struct http_server_config c;
	long long id;

	(void)state;
	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	if (store_pool_open(url, 4, &pool, err, sizeof err) ||
	    store_migrate(pool, NULL, err, sizeof err) ||
	    auth_token_create(pool, "a", 0, 0, tok_a, &id, err, sizeof err) ||
	    auth_token_create(pool, "b", 0, 0, tok_b, &id, err, sizeof err)) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	if (!mkdtemp(tmp) || !realpath(tmp, root))
		return -1;
	app.pool = pool;
	app.data_root = root;
	app.limiter = http_auth_limiter_new(1000);
	app.upload_max_bytes = 4 << 20;
	app.dataset_import = data_import_dir; /* the real import */
	if (http_imports_new(&app.imports, err, sizeof err) ||
	    http_router_new(&router, err, sizeof err) ||
	    http_api_routes_add(router, err, sizeof err))
		return -1;
	http_server_config_defaults(&c);
	c.port = 0;
	c.threads = 2;
	c.app = &app;
	if (http_server_start(&c, router, &srv, err, sizeof err))
		return -1;
	snprintf(base, sizeof base, "http://127.0.0.1:%d",
		 http_server_port(srv));
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX + 32];

	(void)state;
	http_server_stop(srv, 1);
	http_imports_free(app.imports);
	http_router_free(router);
	http_auth_limiter_free(app.limiter);
	store_pool_close(pool);
	ts_pg_destroy(&pg);
	if (strncmp(root, "/tmp/lme2e-", 11) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", root);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(uploaded_dataset_trains_and_exports),
	    cmocka_unit_test(samples_are_pngs_of_the_class),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
