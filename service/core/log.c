/* SPDX-License-Identifier: Apache-2.0 */
/* log.c - leveled logging: one line per event, text on a TTY and JSON lines
 * otherwise, each line carrying the thread's context id (request or job). */
#include "core.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum core_log_level core_log_threshold = CORE_LOG_INFO;
static int log_json;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local char log_context[64];
static void (*log_hook)(int after, void *ctx);
static void *log_hook_ctx;

static const char *level_names[] = {"debug", "info", "warn", "error", "off"};

void core_log_init(enum core_log_level level, enum core_log_format format)
{
	core_log_threshold = level;
	if (format == CORE_LOG_FORMAT_AUTO)
		log_json = !isatty(STDERR_FILENO);
	else
		log_json = format == CORE_LOG_FORMAT_JSON;
}

enum core_status core_log_level_parse(const char *s, enum core_log_level *out)
{
	for (int i = 0; i <= CORE_LOG_OFF; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum core_log_level)i;
			return CORE_OK;
		}
	}
	return CORE_ERR_INVALID;
}

enum core_status core_log_format_parse(const char *s, enum core_log_format *out)
{
	if (strcasecmp(s, "auto") == 0)
		*out = CORE_LOG_FORMAT_AUTO;
	else if (strcasecmp(s, "text") == 0)
		*out = CORE_LOG_FORMAT_TEXT;
	else if (strcasecmp(s, "json") == 0)
		*out = CORE_LOG_FORMAT_JSON;
	else
		return CORE_ERR_INVALID;
	return CORE_OK;
}

void core_log_set_context(const char *id)
{
	if (!id) {
		log_context[0] = '\0';
		return;
	}
	snprintf(log_context, sizeof log_context, "%s", id);
}

void core_log_set_hook(void (*hook)(int after, void *ctx), void *ctx)
{
	pthread_mutex_lock(&log_lock);
	log_hook = hook;
	log_hook_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

const char *core_log_context(void)
{
	return log_context;
}

/* Appends s to out as JSON string content (without quotes). */
static size_t json_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return n;
}

/* Writes all of buf with write(2): one call for a line that fits a pipe's
 * atomic size, so lines of several threads or processes sharing stderr
 * never interleave inside a line. */
static void write_all(const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

void core_log_write(enum core_log_level level, const char *file, int line,
		    const char *fmt, ...)
{
	char raw[2048], msg[2048], esc[6 * 2048 + 8], ts[96],
	    out[6 * 2048 + 512];
	struct timespec now;
	struct tm tm;
	va_list ap;
	const char *base = strrchr(file, '/');
	int n;

	base = base ? base + 1 : file;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* messages quote outside text: keep the log valid UTF-8 */
	core_utf8_copy(msg, sizeof msg, raw);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
	if (log_json) {
		json_escape(esc, sizeof esc, msg);
		n = snprintf(out, sizeof out,
			     "{\"ts\":\"%s\",\"level\":\"%s\",\"id\":\"%s\","
			     "\"src\":\"%s:%d\",\"msg\":\"%s\"}\n",
			     ts, level_names[level], log_context, base, line,
			     esc);
	} else {
		n = snprintf(out, sizeof out, "%s %-5s [%s] %s\n", ts,
			     level_names[level],
			     log_context[0] ? log_context : "-", msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof out) {
		/* cut: still one whole line */
		n = (int)sizeof out - 1;
		out[n - 1] = '\n';
	}
	pthread_mutex_lock(&log_lock);
	if (log_hook)
		log_hook(0, log_hook_ctx);
	fflush(stderr);
	write_all(out, (size_t)n);
	if (log_hook)
		log_hook(1, log_hook_ctx);
	pthread_mutex_unlock(&log_lock);
}
