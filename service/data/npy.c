/* SPDX-License-Identifier: Apache-2.0 */
/* npy.c - the NumPy .npy reader for teacher logits: v1/v2/v3 preamble, a
 * strict parser of the header dict, float16 -> float32 and the checks that
 * tie the array to the training set. */
#include "data.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c reads little-endian data in place: port it first"
#endif

#define NPY_MAGIC     "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_DIMS  8
#define NPY_MAX_DIM   2147483647LL
#define NPY_CHUNK     65536 /* halves converted per read */

float data_half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t ex = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
	float f;

	if (ex == 0) {
		/* zero or subnormal: man * 2^-24, exact in float */
		f = (float)man * 0x1p-24f;
		return sign ? -f : f;
	}
	if (ex == 31)
		bits = sign | 0x7f800000u | (man << 13); /* inf, NaN */
	else
		bits = sign | ((ex + 112u) << 23) | (man << 13);
	memcpy(&f, &bits, sizeof f);
	return f;
}

/* ---- header dict parser ------------------------------------------------ */

struct hp {
	const char *s;
	size_t n, i;
	char *err;
	size_t errlen;
};

static void hp_ws(struct hp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
			       p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int hp_peek(const struct hp *p)
{
	return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static enum core_status hp_fail(struct hp *p, const char *what)
{
	core_errf(p->err, p->errlen, "header dict: %s at offset %zu", what,
		  p->i);
	return CORE_ERR_INVALID;
}

static enum core_status hp_expect(struct hp *p, char c)
{
	char what[32];

	hp_ws(p);
	if (hp_peek(p) != c) {
		snprintf(what, sizeof what, "expected '%c'", c);
		return hp_fail(p, what);
	}
	p->i++;
	return CORE_OK;
}

/* A quoted Python string without escapes into out (truncated to outlen). */
static enum core_status hp_string(struct hp *p, char *out, size_t outlen)
{
	int q;
	size_t len = 0;

	hp_ws(p);
	q = hp_peek(p);
	if (q != '\'' && q != '"')
		return hp_fail(p, "expected a quoted string");
	p->i++;
	while (p->i < p->n && p->s[p->i] != q) {
		if (p->s[p->i] == '\\' || p->s[p->i] == '\0')
			return hp_fail(p, "escape or NUL in a string");
		if (len + 1 < outlen)
			out[len++] = p->s[p->i];
		p->i++;
	}
	if (p->i >= p->n)
		return hp_fail(p, "unterminated string");
	p->i++;
	out[len] = '\0';
	return CORE_OK;
}

static enum core_status hp_word(struct hp *p, const char *w)
{
	size_t n = strlen(w);

	if (p->n - p->i < n || memcmp(p->s + p->i, w, n) != 0)
		return CORE_ERR_INVALID;
	p->i += n;
	return CORE_OK;
}

static enum core_status hp_shape(struct hp *p, int64_t *dims, int *ndim)
{
	*ndim = 0;
	if (hp_expect(p, '('))
		return CORE_ERR_INVALID;
	for (;;) {
		int64_t v = 0;
		int digits = 0;

		hp_ws(p);
		if (hp_peek(p) == ')')
			break;
		while (hp_peek(p) >= '0' && hp_peek(p) <= '9') {
			v = v * 10 + (p->s[p->i++] - '0');
			if (v > NPY_MAX_DIM)
				return hp_fail(p, "shape dimension larger "
						  "than 2147483647");
			digits++;
		}
		if (!digits)
			return hp_fail(p, "expected a non-negative integer in "
					  "shape");
		if (hp_peek(p) == 'L') /* Python 2 long suffix */
			p->i++;
		if (*ndim >= NPY_MAX_DIMS)
			return hp_fail(p, "more than 8 shape dimensions");
		dims[(*ndim)++] = v;
		hp_ws(p);
		if (hp_peek(p) == ',') {
			p->i++;
			continue;
		}
		if (hp_peek(p) != ')')
			return hp_fail(p, "expected ',' or ')' in shape");
	}
	p->i++;
	return CORE_OK;
}

enum core_status data_npy_header_parse(const uint8_t *buf, size_t len,
				       struct data_npy_header *h, char *err,
				       size_t errlen)
{
	struct hp p;
	size_t pre, hlen;
	int have_descr = 0, have_fortran = 0, have_shape = 0;
	int64_t dims[NPY_MAX_DIMS];
	int ndim = 0;

	memset(h, 0, sizeof *h);
	if (len < NPY_MAGIC_LEN || memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
		core_errf(err, errlen, "not an .npy file (bad magic)");
		return CORE_ERR_INVALID;
	}
	if (len < 10) {
		core_errf(err, errlen, "truncated .npy preamble");
		return CORE_ERR_INVALID;
	}
	h->version = buf[6];
	if (buf[6] == 1) {
		pre = 10;
		hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
	} else if (buf[6] == 2 || buf[6] == 3) {
		pre = 12;
		if (len < pre) {
			core_errf(err, errlen, "truncated .npy preamble");
			return CORE_ERR_INVALID;
		}
		hlen = (size_t)buf[8] | (size_t)buf[9] << 8 |
		       (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
	} else {
		core_errf(err, errlen, "unsupported .npy version %d.%d", buf[6],
			  buf[7]);
		return CORE_ERR_INVALID;
	}
	if (hlen > DATA_NPY_MAX_HEADER) {
		core_errf(err, errlen,
			  "header length %zu exceeds the limit of %d", hlen,
			  DATA_NPY_MAX_HEADER);
		return CORE_ERR_INVALID;
	}
	if (len - pre < hlen) {
		core_errf(err, errlen,
			  "truncated header: %zu bytes announced, %zu present",
			  hlen, len - pre);
		return CORE_ERR_INVALID;
	}
	p.s = (const char *)buf + pre;
	p.n = hlen;
	p.i = 0;
	p.err = err;
	p.errlen = errlen;
	if (hp_expect(&p, '{'))
		return CORE_ERR_INVALID;
	for (;;) {
		char key[32], val[32];

		hp_ws(&p);
		if (hp_peek(&p) == '}')
			break;
		if (hp_string(&p, key, sizeof key) || hp_expect(&p, ':'))
			return CORE_ERR_INVALID;
		hp_ws(&p);
		if (strcmp(key, "descr") == 0 && !have_descr) {
			have_descr = 1;
			if (hp_string(&p, val, sizeof val))
				return CORE_ERR_INVALID;
			if (strcmp(val, "<f4") == 0) {
				h->dtype = DATA_NPY_F4;
			} else if (strcmp(val, "<f2") == 0) {
				h->dtype = DATA_NPY_F2;
			} else {
				core_errf(err, errlen,
					  "descr '%s' is not '<f4' or '<f2' "
					  "(little-endian float32/float16)",
					  val);
				return CORE_ERR_INVALID;
			}
		} else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
			have_fortran = 1;
			if (hp_word(&p, "True") == CORE_OK) {
				core_errf(err, errlen,
					  "fortran_order True is not supported "
					  "(save a C-ordered array)");
				return CORE_ERR_INVALID;
			}
			if (hp_word(&p, "False"))
				return hp_fail(&p, "fortran_order is not "
						   "True or False");
		} else if (strcmp(key, "shape") == 0 && !have_shape) {
			have_shape = 1;
			if (hp_shape(&p, dims, &ndim))
				return CORE_ERR_INVALID;
		} else {
			core_errf(err, errlen, "header dict: %s key '%s'",
				  strcmp(key, "descr") == 0 ||
					  strcmp(key, "fortran_order") == 0 ||
					  strcmp(key, "shape") == 0
				      ? "repeated"
				      : "unknown",
				  key);
			return CORE_ERR_INVALID;
		}
		hp_ws(&p);
		if (hp_peek(&p) == ',') {
			p.i++;
			continue;
		}
		if (hp_peek(&p) != '}')
			return hp_fail(&p, "expected ',' or '}'");
	}
	p.i++;
	hp_ws(&p);
	if (p.i != p.n)
		return hp_fail(&p, "text after the dict");
	if (!have_descr || !have_fortran || !have_shape) {
		core_errf(err, errlen, "header dict has no '%s' key",
			  !have_descr	  ? "descr"
			  : !have_fortran ? "fortran_order"
					  : "shape");
		return CORE_ERR_INVALID;
	}
	if (ndim != 2) {
		core_errf(err, errlen,
			  "shape has %d dimensions, expected 2 (records, "
			  "classes)",
			  ndim);
		return CORE_ERR_INVALID;
	}
	h->ndim = 2;
	h->shape[0] = dims[0];
	h->shape[1] = dims[1];
	h->data_offset = pre + hlen;
	return CORE_OK;
}

/* ---- file reader ------------------------------------------------------- */

static enum core_status pread_full(int fd, void *buf, size_t n, off_t off,
				   const char *path, char *err, size_t errlen)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, off + (off_t)got);
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

void data_logits_free(struct data_logits *l)
{
	if (!l)
		return;
	core_free(l->v);
	memset(l, 0, sizeof *l);
}

static enum core_status npy_data_read(int fd, const struct data_npy_header *h,
				      float *v, size_t count, const char *path,
				      char *err, size_t errlen)
{
	uint16_t *half = NULL;
	enum core_status st = CORE_OK;

	if (h->dtype == DATA_NPY_F4)
		return pread_full(fd, v, count * sizeof *v,
				  (off_t)h->data_offset, path, err, errlen);
	half = core_malloc(NPY_CHUNK * sizeof *half);
	if (!half) {
		core_errf(err, errlen, "%s: out of memory", path);
		return CORE_ERR_NOMEM;
	}
	for (size_t at = 0; at < count; at += NPY_CHUNK) {
		size_t n = count - at < NPY_CHUNK ? count - at : NPY_CHUNK;

		st = pread_full(fd, half, n * sizeof *half,
				(off_t)(h->data_offset + at * sizeof *half),
				path, err, errlen);
		if (st)
			break;
		for (size_t i = 0; i < n; i++)
			v[at + i] = data_half_to_float(half[i]);
	}
	core_free(half);
	return st;
}

enum core_status data_npy_read_logits(const char *path, int expect_n,
				      int expect_classes,
				      struct data_logits *out, char *err,
				      size_t errlen)
{
	struct data_npy_header h;
	struct stat sb;
	uint8_t *head = NULL;
	float *v = NULL;
	size_t headlen, item, count, need, have;
	char why[CORE_ERR_LEN];
	enum core_status st = CORE_OK;
	int fd;

	memset(out, 0, sizeof *out);
	if (expect_n <= 0 || expect_classes <= 0) {
		core_errf(err, errlen, "%s: expected shape (%d, %d) is empty",
			  path, expect_n, expect_classes);
		return CORE_ERR_INVALID;
	}
	/* never blocks on a named pipe (core_file_open_regular) */
	st = core_file_open_regular(path, &fd, err, errlen);
	if (st)
		return st;
	if (fstat(fd, &sb) != 0) {
		core_errf(err, errlen, "%s: %s", path, strerror(errno));
		st = CORE_ERR_IO;
		goto out;
	}
	if ((unsigned long long)sb.st_size > DATA_NPY_MAX_BYTES) {
		core_errf(err, errlen,
			  "%s: %lld bytes, more than the limit of %llu", path,
			  (long long)sb.st_size, DATA_NPY_MAX_BYTES);
		st = CORE_ERR_INVALID;
		goto out;
	}
	headlen = (size_t)sb.st_size < 12 + DATA_NPY_MAX_HEADER
		      ? (size_t)sb.st_size
		      : 12 + DATA_NPY_MAX_HEADER;
	head = core_malloc(headlen ? headlen : 1);
	if (!head) {
		core_errf(err, errlen, "%s: out of memory", path);
		st = CORE_ERR_NOMEM;
		goto out;
	}
	st = pread_full(fd, head, headlen, 0, path, err, errlen);
	if (st)
		goto out;
	st = data_npy_header_parse(head, headlen, &h, why, sizeof why);
	if (st) {
		core_errf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	if (h.shape[0] != expect_n || h.shape[1] != expect_classes) {
		core_errf(err, errlen,
			  "%s: shape (%lld, %lld), expected (%d, %d): one row "
			  "of %d class logits per training record",
			  path, (long long)h.shape[0], (long long)h.shape[1],
			  expect_n, expect_classes, expect_classes);
		st = CORE_ERR_INVALID;
		goto out;
	}
	item = h.dtype == DATA_NPY_F4 ? 4 : 2;
	count = (size_t)expect_n * (size_t)expect_classes; /* < 2^62 */
	need = count * item;
	have = (size_t)sb.st_size - h.data_offset;
	if (have < need) {
		core_errf(err, errlen,
			  "%s: truncated: shape needs %zu bytes of data, the "
			  "file has %zu",
			  path, need, have);
		st = CORE_ERR_INVALID;
		goto out;
	}
	if (have > need) {
		core_errf(err, errlen,
			  "%s: %zu unexpected bytes after the data", path,
			  have - need);
		st = CORE_ERR_INVALID;
		goto out;
	}
	v = core_malloc(count * sizeof *v);
	if (!v) {
		core_errf(err, errlen, "%s: out of memory", path);
		st = CORE_ERR_NOMEM;
		goto out;
	}
	st = npy_data_read(fd, &h, v, count, path, err, errlen);
	if (st)
		goto out;
	for (size_t i = 0; i < count; i++)
		if (!isfinite(v[i])) {
			core_errf(err, errlen,
				  "%s: record %zu, class %zu: value is not "
				  "finite",
				  path, i / (size_t)expect_classes,
				  i % (size_t)expect_classes);
			st = CORE_ERR_INVALID;
			goto out;
		}
	out->n = expect_n;
	out->classes = expect_classes;
	out->v = v;
	v = NULL;
out:
	core_free(v);
	core_free(head);
	close(fd);
	return st;
}

enum core_status data_logits_load(const char *path,
				  const struct data_set *train,
				  struct data_logits *out, char *err,
				  size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (train->split != DATA_SPLIT_TRAIN) {
		core_errf(err, errlen,
			  "%s: teacher logits are indexed by the training "
			  "files' records, not the %s split",
			  path, data_split_name(train->split));
		return CORE_ERR_INVALID;
	}
	return data_npy_read_logits(path, train->n, train->classes, out, err,
				    errlen);
}
