/* SPDX-License-Identifier: Apache-2.0 */
/* cifar.c - CIFAR-10/100 binary readers (channel-major records into one HWC
 * pixel array), class-name files, in-memory data sets and the kind tables. */
#include "data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CIFAR_MAX_FILES	    5
#define CIFAR_CHUNK_RECORDS 256 /* records read per read() batch */
#define CIFAR100_COARSE	    20
#define DATA_MAX_RECORDS    (1 << 22) /* sanity cap of data_set_alloc */
#define NAMES_MAX_BYTES	    (64 * 1024)

/* What one (kind, split) reads. */
struct cifar_layout {
	int label_bytes; /* 1 (label) or 2 (coarse, fine) */
	int nfiles;
	const char *files[CIFAR_MAX_FILES];
	const char *names;	  /* class names file */
	const char *coarse_names; /* CIFAR-100 only */
};

static void cifar_layout_get(enum data_kind kind, enum data_split split,
			     struct cifar_layout *l)
{
	static const char *const c10_train[CIFAR_MAX_FILES] = {
	    "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
	    "data_batch_4.bin", "data_batch_5.bin"};

	memset(l, 0, sizeof *l);
	if (kind == DATA_KIND_CIFAR10) {
		l->label_bytes = 1;
		if (split == DATA_SPLIT_TRAIN) {
			l->nfiles = CIFAR_MAX_FILES;
			memcpy(l->files, c10_train, sizeof c10_train);
		} else {
			l->nfiles = 1;
			l->files[0] = "test_batch.bin";
		}
		l->names = "batches.meta.txt";
		return;
	}
	l->label_bytes = 2;
	l->nfiles = 1;
	l->files[0] = split == DATA_SPLIT_TRAIN ? "train.bin" : "test.bin";
	l->names = "fine_label_names.txt";
	l->coarse_names = "coarse_label_names.txt";
}

const char *data_kind_name(enum data_kind k)
{
	return k == DATA_KIND_CIFAR10 ? "cifar10"
	       : k == DATA_KIND_CACHE ? "cache"
				      : "cifar100";
}

const char *data_split_name(enum data_split s)
{
	return s == DATA_SPLIT_TRAIN ? "train"
	       : s == DATA_SPLIT_VAL ? "val"
				     : "test";
}

enum core_status data_kind_parse(const char *s, enum data_kind *out)
{
	if (strcmp(s, "cifar10") == 0)
		*out = DATA_KIND_CIFAR10;
	else if (strcmp(s, "cifar100") == 0)
		*out = DATA_KIND_CIFAR100;
	else if (strcmp(s, "cache") == 0)
		*out = DATA_KIND_CACHE;
	else
		return CORE_ERR_INVALID;
	return CORE_OK;
}

enum core_status data_split_parse(const char *s, enum data_split *out)
{
	if (strcmp(s, "train") == 0)
		*out = DATA_SPLIT_TRAIN;
	else if (strcmp(s, "test") == 0)
		*out = DATA_SPLIT_TEST;
	else if (strcmp(s, "val") == 0)
		*out = DATA_SPLIT_VAL;
	else
		return CORE_ERR_INVALID;
	return CORE_OK;
}

int data_kind_classes(enum data_kind k)
{
	return k == DATA_KIND_CIFAR10 ? 10 : k == DATA_KIND_CACHE ? 0 : 100;
}

size_t data_set_record_bytes(const struct data_set *ds)
{
	int h = ds->height ? ds->height : DATA_IMAGE_SIZE;
	int w = ds->width ? ds->width : DATA_IMAGE_SIZE;

	return (size_t)h * (size_t)w * DATA_IMAGE_CHANNELS;
}

enum core_status data_set_load(const char *dir, enum data_kind kind,
			       enum data_split split, struct data_set *ds,
			       char *err, size_t errlen)
{
	if (kind == DATA_KIND_CACHE)
		return data_cache_load(dir, split, ds, err, errlen);
	return data_cifar_load(dir, kind, split, ds, err, errlen);
}

void data_set_free(struct data_set *ds)
{
	if (!ds)
		return;
	if (ds->map)
		munmap(ds->map, ds->map_len);
	else
		core_free(ds->pixels);
	core_free(ds->labels);
	core_free(ds->coarse);
	core_free(ds->label_names);
	core_free(ds->coarse_names);
	memset(ds, 0, sizeof *ds);
}

const char *data_set_label_name(const struct data_set *ds, int c)
{
	if (!ds->label_names || c < 0 || c >= ds->classes)
		return NULL;
	return ds->label_names + (size_t)c * DATA_LABEL_NAME_MAX;
}

enum core_status data_set_alloc(struct data_set *ds, enum data_kind kind,
				enum data_split split, int n, char *err,
				size_t errlen)
{
	memset(ds, 0, sizeof *ds);
	if (kind != DATA_KIND_CIFAR10 && kind != DATA_KIND_CIFAR100) {
		core_errf(err, errlen, "data set: unknown kind %d", (int)kind);
		return CORE_ERR_INVALID;
	}
	if (n <= 0 || n > DATA_MAX_RECORDS) {
		core_errf(err, errlen, "data set: %d records is outside 1..%d",
			  n, DATA_MAX_RECORDS);
		return CORE_ERR_INVALID;
	}
	ds->kind = kind;
	ds->split = split;
	ds->n = n;
	ds->classes = data_kind_classes(kind);
	ds->height = ds->width = DATA_IMAGE_SIZE;
	ds->pixels = core_calloc((size_t)n, DATA_IMAGE_BYTES);
	ds->labels = core_calloc((size_t)n, sizeof *ds->labels);
	if (kind == DATA_KIND_CIFAR100)
		ds->coarse = core_calloc((size_t)n, sizeof *ds->coarse);
	if (!ds->pixels || !ds->labels ||
	    (kind == DATA_KIND_CIFAR100 && !ds->coarse)) {
		data_set_free(ds);
		core_errf(err, errlen, "data set: out of memory for %d images",
			  n);
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

enum core_status data_label_names_load(const char *path, int classes,
				       char **names, char *err, size_t errlen)
{
	char *text = NULL, *out = NULL, *p, *end;
	size_t len = 0;
	int count = 0, line = 0, blank_run = 0;
	enum core_status st;

	*names = NULL;
	st = core_file_read(path, NAMES_MAX_BYTES, &text, &len, err, errlen);
	if (st)
		return st;
	out = core_calloc((size_t)classes, DATA_LABEL_NAME_MAX);
	if (!out) {
		core_errf(err, errlen, "%s: out of memory", path);
		st = CORE_ERR_NOMEM;
		goto out;
	}
	p = text;
	end = text + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);

		line++;
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' ||
				 p[n - 1] == '\t'))
			n--;
		if (n == 0) {
			blank_run++;
		} else {
			if (blank_run > 0 || count >= classes) {
				core_errf(err, errlen,
					  "%s: line %d: expected %d names, one "
					  "a line, without blank lines between",
					  path, line, classes);
				st = CORE_ERR_INVALID;
				goto out;
			}
			if (n >= DATA_LABEL_NAME_MAX || memchr(p, '\0', n)) {
				core_errf(err, errlen,
					  "%s: line %d: name longer than %d "
					  "bytes or contains NUL",
					  path, line, DATA_LABEL_NAME_MAX - 1);
				st = CORE_ERR_INVALID;
				goto out;
			}
			memcpy(out + (size_t)count * DATA_LABEL_NAME_MAX, p, n);
			count++;
		}
		p = nl ? nl + 1 : end;
	}
	if (count != classes) {
		core_errf(err, errlen, "%s: %d names, expected %d", path, count,
			  classes);
		st = CORE_ERR_INVALID;
		goto out;
	}
	*names = out;
	out = NULL;
out:
	core_free(out);
	core_free(text);
	return st;
}

/* Opens one data file and checks its size; *records is its record count. */
static enum core_status cifar_file_open(const char *path, size_t rec_bytes,
					int *fd_out, int *records, char *err,
					size_t errlen)
{
	struct stat sb;
	int fd = -1;
	/* a named pipe given as a data file fails here at once instead of
	 * blocking in open() for a writer that never comes */
	enum core_status st = core_file_open_regular(path, &fd, err, errlen);

	*fd_out = -1;
	if (st)
		return st;
	if (fstat(fd, &sb) != 0) {
		core_errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return CORE_ERR_IO;
	}
	if (sb.st_size == 0) {
		core_errf(err, errlen, "%s: empty file", path);
		close(fd);
		return CORE_ERR_INVALID;
	}
	if ((unsigned long long)sb.st_size > DATA_CIFAR_MAX_FILE_BYTES) {
		core_errf(err, errlen,
			  "%s: %lld bytes, more than the limit of %u", path,
			  (long long)sb.st_size, DATA_CIFAR_MAX_FILE_BYTES);
		close(fd);
		return CORE_ERR_INVALID;
	}
	if ((size_t)sb.st_size % rec_bytes != 0) {
		core_errf(err, errlen,
			  "%s: %lld bytes is not a whole number of %zu-byte "
			  "records (truncated or not this data set)",
			  path, (long long)sb.st_size, rec_bytes);
		close(fd);
		return CORE_ERR_INVALID;
	}
	*records = (int)((size_t)sb.st_size / rec_bytes);
	*fd_out = fd;
	return CORE_OK;
}

static enum core_status read_full(int fd, void *buf, size_t n, const char *path,
				  char *err, size_t errlen)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			core_errf(err, errlen, "%s: read failed: %s", path,
				  r < 0 ? strerror(errno) : "file shrank");
			return CORE_ERR_IO;
		}
		got += (size_t)r;
	}
	return CORE_OK;
}

/* Converts and checks `count` records of buf into ds from record `at`;
 * first is the index of buf's first record within its file. */
static enum core_status cifar_records_convert(struct data_set *ds, int at,
					      const uint8_t *buf, int count,
					      int label_bytes, int first,
					      const char *path, char *err,
					      size_t errlen)
{
	const size_t plane = DATA_IMAGE_SIZE * DATA_IMAGE_SIZE;
	const size_t rec = (size_t)label_bytes + DATA_IMAGE_BYTES;

	for (int r = 0; r < count; r++) {
		const uint8_t *src = buf + (size_t)r * rec;
		const uint8_t *chw = src + label_bytes;
		uint8_t *hwc = ds->pixels + (size_t)(at + r) * DATA_IMAGE_BYTES;
		int label = src[label_bytes - 1];

		if (label_bytes == 2 && src[0] >= CIFAR100_COARSE) {
			core_errf(err, errlen,
				  "%s: record %d: coarse label %d is outside "
				  "0..%d",
				  path, first + r, src[0], CIFAR100_COARSE - 1);
			return CORE_ERR_INVALID;
		}
		if (label >= ds->classes) {
			core_errf(err, errlen,
				  "%s: record %d: %slabel %d is outside 0..%d",
				  path, first + r,
				  label_bytes == 2 ? "fine " : "", label,
				  ds->classes - 1);
			return CORE_ERR_INVALID;
		}
		ds->labels[at + r] = label;
		if (ds->coarse)
			ds->coarse[at + r] = src[0];
		for (size_t p = 0; p < plane; p++) {
			hwc[3 * p + 0] = chw[p];
			hwc[3 * p + 1] = chw[plane + p];
			hwc[3 * p + 2] = chw[2 * plane + p];
		}
	}
	return CORE_OK;
}

static enum core_status cifar_names_load(const char *dir, const char *file,
					 int classes, char **names, char *err,
					 size_t errlen)
{
	char path[PATH_MAX];
	enum core_status st;

	if (snprintf(path, sizeof path, "%s/%s", dir, file) >=
	    (int)sizeof path) {
		core_errf(err, errlen, "%s: path too long", dir);
		return CORE_ERR_INVALID;
	}
	st = data_label_names_load(path, classes, names, err, errlen);
	if (st == CORE_ERR_NOT_FOUND)
		st = CORE_OK; /* optional: *names stays NULL */
	return st;
}

enum core_status data_cifar_load(const char *dir, enum data_kind kind,
				 enum data_split split, struct data_set *ds,
				 char *err, size_t errlen)
{
	struct cifar_layout lay;
	char paths[CIFAR_MAX_FILES][PATH_MAX];
	int fds[CIFAR_MAX_FILES], counts[CIFAR_MAX_FILES];
	uint8_t *buf = NULL;
	size_t rec;
	long total = 0;
	int at = 0;
	enum core_status st = CORE_OK;

	memset(ds, 0, sizeof *ds);
	for (int i = 0; i < CIFAR_MAX_FILES; i++)
		fds[i] = -1;
	if ((kind != DATA_KIND_CIFAR10 && kind != DATA_KIND_CIFAR100) ||
	    (split != DATA_SPLIT_TRAIN && split != DATA_SPLIT_TEST)) {
		core_errf(err, errlen, "cifar: unknown kind or split");
		return CORE_ERR_INVALID;
	}
	cifar_layout_get(kind, split, &lay);
	rec = (size_t)lay.label_bytes + DATA_IMAGE_BYTES;
	for (int i = 0; i < lay.nfiles; i++) {
		if (snprintf(paths[i], PATH_MAX, "%s/%s", dir, lay.files[i]) >=
		    PATH_MAX) {
			core_errf(err, errlen, "%s: path too long", dir);
			st = CORE_ERR_INVALID;
			goto out;
		}
		st = cifar_file_open(paths[i], rec, &fds[i], &counts[i], err,
				     errlen);
		if (st)
			goto out;
		total += counts[i];
	}
	st = data_set_alloc(ds, kind, split, (int)total, err, errlen);
	if (st)
		goto out;
	buf = core_malloc(CIFAR_CHUNK_RECORDS * rec);
	if (!buf) {
		core_errf(err, errlen, "cifar: out of memory");
		st = CORE_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < lay.nfiles; i++) {
		for (int first = 0; first < counts[i];
		     first += CIFAR_CHUNK_RECORDS) {
			int n = counts[i] - first;
			if (n > CIFAR_CHUNK_RECORDS)
				n = CIFAR_CHUNK_RECORDS;
			st = read_full(fds[i], buf, (size_t)n * rec, paths[i],
				       err, errlen);
			if (st)
				goto out;
			st = cifar_records_convert(ds, at, buf, n,
						   lay.label_bytes, first,
						   paths[i], err, errlen);
			if (st)
				goto out;
			at += n;
		}
	}
	st = cifar_names_load(dir, lay.names, ds->classes, &ds->label_names,
			      err, errlen);
	if (st)
		goto out;
	if (lay.coarse_names)
		st = cifar_names_load(dir, lay.coarse_names, CIFAR100_COARSE,
				      &ds->coarse_names, err, errlen);
out:
	core_free(buf);
	for (int i = 0; i < CIFAR_MAX_FILES; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (st)
		data_set_free(ds);
	return st;
}
