/* SPDX-License-Identifier: Apache-2.0 */
/* runner_check.c - what can be known about a job before it trains: the
 * data set files are there and readable, the teacher logits fit the data
 * set, and some member of the space meets the constraints. Checked when a
 * job is submitted and again when a runner starts it. */
#include "runner/runner.h"
#include "search/search.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Draws tried before a space is called infeasible. */
#define CHECK_SAMPLES 2000

/* A data file: regular, readable, a whole number of records. Adds its
 * records to *n. */
static enum core_status check_file(const char *dir, const char *name, long rec,
				   long long *n, char *err, size_t errlen)
{
	char path[SEARCH_PATH_MAX + 64];
	struct stat sb;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (stat(path, &sb) != 0) {
		core_errf(err, errlen, "dataset.path: %s: %s", path,
			  strerror(errno));
		return CORE_ERR_INVALID;
	}
	if (!S_ISREG(sb.st_mode)) {
		core_errf(err, errlen, "dataset.path: %s is not a regular file",
			  path);
		return CORE_ERR_INVALID;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		core_errf(err, errlen, "dataset.path: %s: %s", path,
			  strerror(errno));
		return CORE_ERR_INVALID;
	}
	close(fd);
	if (sb.st_size <= 0 || sb.st_size % rec != 0) {
		core_errf(err, errlen,
			  "dataset.path: %s: %lld bytes is not a whole number "
			  "of %ld-byte records",
			  path, (long long)sb.st_size, rec);
		return CORE_ERR_INVALID;
	}
	*n += sb.st_size / rec;
	return CORE_OK;
}

static enum core_status check_dataset(const struct search_spec *s,
				      long long *train_n, char *err,
				      size_t errlen)
{
	static const char *const c10[] = {
	    "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
	    "data_batch_4.bin", "data_batch_5.bin"};
	int c100 = s->dataset_kind == DATA_KIND_CIFAR100;
	long rec = c100 ? 3074 : 3073; /* label byte(s) + 32x32x3 */
	long long test_n = 0;
	struct stat sb;
	enum core_status st = CORE_OK;

	*train_n = 0;
	if (stat(s->dataset_path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		core_errf(err, errlen, "dataset.path: '%s' is not a directory",
			  s->dataset_path);
		return CORE_ERR_INVALID;
	}
	if (s->dataset_kind == DATA_KIND_CACHE) {
		/* an import cache: its reader checks the index against the
		 * pixel file when training opens it */
		char ix[SEARCH_PATH_MAX + 32];
		snprintf(ix, sizeof ix, "%s/%s", s->dataset_path,
			 DATA_CACHE_INDEX);
		if (stat(ix, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			core_errf(err, errlen,
				  "dataset.path: '%s' is not an import cache "
				  "(no %s)",
				  s->dataset_path, DATA_CACHE_INDEX);
			return CORE_ERR_INVALID;
		}
		return CORE_OK;
	}
	if (c100)
		st = check_file(s->dataset_path, "train.bin", rec, train_n, err,
				errlen);
	for (size_t i = 0; !c100 && !st && i < 5; i++)
		st = check_file(s->dataset_path, c10[i], rec, train_n, err,
				errlen);
	if (!st)
		st = check_file(s->dataset_path,
				c100 ? "test.bin" : "test_batch.bin", rec,
				&test_n, err, errlen);
	return st;
}

static enum core_status check_teacher(const char *path, long long n,
				      int classes, char *err, size_t errlen)
{
	uint8_t buf[4096];
	struct data_npy_header h;
	struct stat sb;
	char why[CORE_ERR_LEN];
	ssize_t got;
	long long want;
	int fd;

	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		core_errf(err, errlen,
			  "budget.final.teacher_logits: '%s' is not a "
			  "readable file",
			  path);
		return CORE_ERR_INVALID;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		core_errf(err, errlen, "budget.final.teacher_logits: %s: %s",
			  path, strerror(errno));
		return CORE_ERR_INVALID;
	}
	got = read(fd, buf, sizeof buf);
	close(fd);
	if (got <= 0 ||
	    data_npy_header_parse(buf, (size_t)got, &h, why, sizeof why)) {
		core_errf(err, errlen, "budget.final.teacher_logits: %s: %s",
			  path, got <= 0 ? "cannot be read" : why);
		return CORE_ERR_INVALID;
	}
	if (h.shape[0] != n || h.shape[1] != classes) {
		core_errf(err, errlen,
			  "budget.final.teacher_logits: %s has shape (%lld, "
			  "%lld); the data set needs (%lld, %d)",
			  path, (long long)h.shape[0], (long long)h.shape[1], n,
			  classes);
		return CORE_ERR_INVALID;
	}
	want = (long long)h.data_offset +
	       n * classes * (h.dtype == DATA_NPY_F2 ? 2 : 4);
	if ((long long)sb.st_size != want) {
		core_errf(err, errlen,
			  "budget.final.teacher_logits: %s: %lld bytes, the "
			  "shape needs %lld",
			  path, (long long)sb.st_size, want);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

static enum core_status check_feasible(const struct search_spec *s, char *err,
				       size_t errlen)
{
	struct core_rng rng;
	struct search_proposal p;
	char why[CORE_ERR_LEN], last[CORE_ERR_LEN] = "";
	enum core_status st;

	core_rng_seed(&rng, s->seed ^ 0x636865636bULL);
	memset(&p, 0, sizeof p);
	for (int i = 0; i < CHECK_SAMPLES; i++) {
		struct arch a;
		st = space_sample(&s->space, &rng, search_spec_classes(s), &a,
				  why, sizeof why);
		if (st) {
			core_errf(err, errlen, "space: %s", why);
			return CORE_ERR_INVALID;
		}
		st = search_check_arch(s, NULL, NULL, &a, &p, why, sizeof why);
		if (st) {
			search_proposal_free(&p);
			core_errf(err, errlen, "%s", why);
			return st;
		}
		if (p.verdict == SEARCH_VERDICT_OK) {
			search_proposal_free(&p);
			return CORE_OK;
		}
		core_utf8_copy(last, sizeof last, p.reason);
		search_proposal_free(&p);
	}
	core_errf(err, errlen,
		  "constraints: none of %d members drawn from the space meets "
		  "them (the last: %s)",
		  CHECK_SAMPLES, last);
	return CORE_ERR_INVALID;
}

enum core_status runner_spec_check(const struct search_spec *s, char *err,
				   size_t errlen)
{
	long long train_n = 0;
	enum core_status st;

	/* a team's dataset is a cache the import checked (its reader checks
	 * it again when training opens it), not CIFAR files */
	if (s->dataset_id > 0 && s->budget.final.teacher_logits[0]) {
		core_errf(err, errlen,
			  "budget.final.teacher_logits: not supported with "
			  "dataset.id");
		return CORE_ERR_INVALID;
	}
	st = s->dataset_id > 0 ? CORE_OK
			       : check_dataset(s, &train_n, err, errlen);

	if (!st && s->budget.final.teacher_logits[0])
		st = check_teacher(s->budget.final.teacher_logits, train_n,
				   search_spec_classes(s), err, errlen);
	if (!st)
		st = check_feasible(s, err, errlen);
	return st;
}
