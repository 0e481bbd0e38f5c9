/* SPDX-License-Identifier: Apache-2.0 */
/* core.h - the bottom layer of lmnas: status codes, error text, logging,
 * checked allocation (with a fault injector for tests), arenas, growable
 * buffers with a hard cap, bounded file reading and SHA-256.
 *
 * Every other module may include this header; it includes no other module.
 *
 * Conventions used across lmnas:
 *   - functions return enum core_status (CORE_OK == 0) and write results
 *     through out-parameters;
 *   - a caller-supplied `char *err, size_t errlen` receives a human-readable
 *     reason on failure (never NULL-checked by callers: pass a buffer);
 *   - memory returned to the caller is owned by the caller unless the
 *     function comment says otherwise.
 */
#ifndef LMNAS_CORE_H
#define LMNAS_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define LMNAS_VERSION "0.1.0"

/* ---- status ------------------------------------------------------------ */

enum core_status {
	CORE_OK = 0,
	CORE_ERR_INVALID,     /* bad input; err names the field and reason */
	CORE_ERR_NOMEM,	      /* allocation failed or a hard cap was hit */
	CORE_ERR_IO,	      /* file or socket error */
	CORE_ERR_NOT_FOUND,   /* a named thing does not exist */
	CORE_ERR_DB,	      /* database error (see err) */
	CORE_ERR_UNAVAILABLE, /* a dependency (database, LLM) cannot be reached
			       */
	CORE_ERR_CONFLICT,    /* state does not allow the operation */
	CORE_ERR_CANCELLED,   /* the work was cancelled */
	CORE_ERR_INTERNAL     /* a bug: should not happen */
};

/* Stable lower-case name of a status ("invalid", "nomem", ...). */
const char *core_status_name(enum core_status st);

#define CORE_ERR_LEN 512

/* snprintf into err (if errlen > 0); always NUL-terminates. */
void core_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- field errors ------------------------------------------------------ */

/* Validation of outside data reports one entry per problem, naming the field
 * by its path ("stages[2].kernel") and the reason ("4 is not odd"). The list
 * is bounded; further problems are counted in `dropped`. */
#define CORE_FIELD_ERRORS_MAX 32
struct core_field_error {
	char field[128];
	char reason[256];
};

struct core_field_errors {
	int n;
	int dropped;
	struct core_field_error e[CORE_FIELD_ERRORS_MAX];
};

void core_field_errors_clear(struct core_field_errors *fe);
void core_field_errorf(struct core_field_errors *fe, const char *field,
		       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "field: reason; field: reason" (truncated to errlen) for CLI messages. */
void core_field_errors_join(const struct core_field_errors *fe, char *out,
			    size_t outlen);

/* ---- logging ----------------------------------------------------------- */

enum core_log_level {
	CORE_LOG_DEBUG = 0,
	CORE_LOG_INFO,
	CORE_LOG_WARN,
	CORE_LOG_ERROR,
	CORE_LOG_OFF
};

enum core_log_format {
	CORE_LOG_FORMAT_AUTO = 0, /* text on a TTY, JSON lines otherwise */
	CORE_LOG_FORMAT_TEXT,
	CORE_LOG_FORMAT_JSON
};

extern enum core_log_level core_log_threshold;

void core_log_init(enum core_log_level level, enum core_log_format format);
enum core_status core_log_level_parse(const char *s, enum core_log_level *out);
enum core_status core_log_format_parse(const char *s,
				       enum core_log_format *out);

/* The id that every log line of this thread carries (a request id, a job id).
 * The string is copied (truncated to 63 bytes). NULL or "" clears it. */
void core_log_set_context(const char *id);
/* hook(0, ctx) runs right before and hook(1, ctx) right after each log line
 * is written, under the log lock (a terminal's live progress line steps
 * aside with it); NULL removes it. */
void core_log_set_hook(void (*hook)(int after, void *ctx), void *ctx);
const char *core_log_context(void);

void core_log_write(enum core_log_level level, const char *file, int line,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The level is tested before the arguments are evaluated (redis serverLog). */
#define CORE_LOG(level, ...)                                                   \
	do {                                                                   \
		if ((level) >= core_log_threshold)                             \
			core_log_write((level), __FILE__, __LINE__,            \
				       __VA_ARGS__);                           \
	} while (0)
#define LOG_DEBUG(...) CORE_LOG(CORE_LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...)  CORE_LOG(CORE_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...)  CORE_LOG(CORE_LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) CORE_LOG(CORE_LOG_ERROR, __VA_ARGS__)

/* ---- checked allocation ------------------------------------------------ */

/* Thin wrappers over malloc & co. that tests can make fail: after
 * core_alloc_fail_after(n), the n-th following allocation (0 = the next one)
 * and every later one return NULL until core_alloc_fail_after(-1). Only code
 * that uses these wrappers is covered; library-internal allocations are not. */
void *core_malloc(size_t n);
void *core_calloc(size_t count, size_t size);
void *core_realloc(void *p, size_t n);
char *core_strdup(const char *s);
void core_free(void *p);
void core_alloc_fail_after(long n);
/* Number of allocations made through the wrappers so far (for torture loops).
 */
long core_alloc_count(void);

/* ---- arena ------------------------------------------------------------- */

/* A bump allocator with a fixed capacity, allocated once. Alignment 64 bytes
 * (cache line and AVX-512 friendly). Freed as a whole. */
struct core_arena {
	unsigned char *base;
	size_t cap;
	size_t used;
	size_t high_water;
};

enum core_status core_arena_init(struct core_arena *a, size_t cap);
/* Returns NULL when the arena is full; never grows. */
void *core_arena_alloc(struct core_arena *a, size_t n);
void core_arena_reset(struct core_arena *a);
void core_arena_free(struct core_arena *a);

/* ---- growable buffer with a hard cap (curl dynbuf) ---------------------- */

struct core_buf {
	char *data; /* NUL-terminated while len < cap */
	size_t len;
	size_t alloc;
	size_t max; /* hard cap on len; exceeding it frees the buffer */
};

void core_buf_init(struct core_buf *b, size_t max);
/* On failure (allocation or cap) the buffer is freed and reset. */
enum core_status core_buf_append(struct core_buf *b, const void *p, size_t n);
enum core_status core_buf_printf(struct core_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void core_buf_free(struct core_buf *b);
/* Hands the data to the caller (who frees it with core_free); resets b. */
char *core_buf_steal(struct core_buf *b, size_t *len);

/* ---- files ------------------------------------------------------------- */

/* Opens path read-only when it is a regular file; a FIFO, device, socket or
 * directory fails at once (CORE_ERR_INVALID, "not a regular file"), never
 * blocking. *fd_out is owned by the caller (close); -1 on failure. */
enum core_status core_file_open_regular(const char *path, int *fd_out,
					char *err, size_t errlen);

/* Reads a whole regular file (see core_file_open_regular) of at most
 * max_bytes. *out is NUL-terminated and owned
 * by the caller (core_free). Nothing is allocated on failure. */
enum core_status core_file_read(const char *path, size_t max_bytes, char **out,
				size_t *len, char *err, size_t errlen);

/* Writes data to path atomically (temp file + rename). */
enum core_status core_file_write_atomic(const char *path, const void *data,
					size_t len, char *err, size_t errlen);

/* ---- hashing ----------------------------------------------------------- */

/* SHA-256 of data as 64 lower-case hex characters plus NUL into hex[65]. */
void core_sha256_hex(const void *data, size_t len, char hex[65]);

/* ---- random ------------------------------------------------------------ */

/* A small, seedable, reproducible generator (xoshiro256**), one per user. */
struct core_rng {
	uint64_t s[4];
};

void core_rng_seed(struct core_rng *r, uint64_t seed);
uint64_t core_rng_next(struct core_rng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t core_rng_below(struct core_rng *r, uint64_t n);
/* Uniform double in [0, 1). */
double core_rng_uniform(struct core_rng *r);

/* Random id of `bytes` random bytes as hex (2*bytes+1 chars into out). */
void core_random_hex(char *out, size_t bytes);

/* ---- UTF-8 ------------------------------------------------------------ */

/* Text from outside (HTTP bodies, LLM replies, file names, libpq messages)
 * is made valid UTF-8 before it is stored or echoed. NUL bytes count as
 * invalid (PostgreSQL text cannot hold them). */

/* 1 when s[0..n) is valid UTF-8 without NUL bytes, else 0. */
int core_utf8_valid(const char *s, size_t n);

/* The longest prefix of s[0..n) of at most max bytes that does not end in
 * the middle of a character. */
size_t core_utf8_cut_len(const char *s, size_t n, size_t max);

/* A NUL-terminated copy of s[0..n) in which every invalid byte is replaced
 * by U+FFFD, cut on a character boundary to at most max bytes. Owned by the
 * caller (core_free); NULL when out of memory. *out_len (may be NULL)
 * receives its length. */
char *core_utf8_sanitize(const char *s, size_t n, size_t max, size_t *out_len);

/* core_utf8_sanitize of a C string into dst[dstlen] (always terminated). */
void core_utf8_copy(char *dst, size_t dstlen, const char *s);

/* ---- time -------------------------------------------------------------- */

double core_now_seconds(void); /* monotonic */

#endif
