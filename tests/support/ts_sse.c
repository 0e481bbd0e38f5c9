/* SPDX-License-Identifier: Apache-2.0 */
/* ts_sse.c - the tests' Server-Sent Events client (ts_sse.h). */
#include "ts_sse.h"

#include "testsupport.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ts_sse_open(struct ts_sse *c, int port, const char *target,
		const char *token, long long last_id)
{
	char req[2048], last[64] = "", auth[1024] = "";
	size_t off = 0, n;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (last_id > 0)
		snprintf(last, sizeof last, "Last-Event-ID: %lld\r\n", last_id);
	if (token)
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n",
			 token);
	n = (size_t)snprintf(req, sizeof req,
			     "GET %s HTTP/1.0\r\nHost: t\r\n%s"
			     "Accept: text/event-stream\r\n%s\r\n",
			     target, auth, last);
	if (n >= sizeof req)
		return -1;
	c->fd = ts_tcp_connect(port);
	if (c->fd < 0)
		return -1;
	while (off < n) {
		ssize_t w = write(c->fd, req + off, n - off);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

void ts_sse_close(struct ts_sse *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int ts_sse_fill(struct ts_sse *c, double timeout_s)
{
	struct pollfd p = {c->fd, POLLIN, 0};
	ssize_t r;

	if (c->closed || c->fd < 0 || c->len + 1 >= sizeof c->buf)
		return 0;
	if (timeout_s < 0)
		timeout_s = 0;
	if (poll(&p, 1, (int)(timeout_s * 1000)) <= 0)
		return 0;
	r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
	if (r <= 0) {
		c->closed = 1;
		return 0;
	}
	c->len += (size_t)r;
	c->buf[c->len] = '\0';
	return 1;
}

static void consume(struct ts_sse *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	c->buf[c->len] = '\0';
}

int ts_sse_headers(struct ts_sse *c, double timeout_s)
{
	double t0 = now_s();
	char *end, *ct;

	while (!(end = strstr(c->buf, "\r\n\r\n"))) {
		ts_sse_fill(c, timeout_s - (now_s() - t0));
		if (c->closed || now_s() - t0 >= timeout_s) {
			end = strstr(c->buf, "\r\n\r\n");
			if (!end)
				return -1;
		}
	}
	*end = '\0';
	c->status = c->len > 9 ? strtol(c->buf + 9, NULL, 10) : 0;
	for (ct = c->buf; (ct = strchr(ct, '\n')) != NULL;) {
		ct++;
		if (strncasecmp(ct, "Content-Type: ", 14) == 0) {
			size_t k = strcspn(ct + 14, "\r\n");
			if (k >= sizeof c->ctype)
				k = sizeof c->ctype - 1;
			memcpy(c->ctype, ct + 14, k);
			c->ctype[k] = '\0';
		}
	}
	consume(c, (size_t)(end + 4 - c->buf));
	c->headers_done = 1;
	return 0;
}

/* Parses the block of len bytes at c->buf into ev: 1 when it had an id. */
static int parse_block(char *block, struct ts_sse_event *ev, int *comments)
{
	int any = 0;

	memset(ev, 0, sizeof *ev);
	for (char *line = block; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, "id: ", 4) == 0) {
			ev->id = atoll(line + 4);
			any = 1;
		} else if (strncmp(line, "event: ", 7) == 0) {
			snprintf(ev->kind, sizeof ev->kind, "%s", line + 7);
		} else if (strncmp(line, "data: ", 6) == 0) {
			snprintf(ev->data, sizeof ev->data, "%s", line + 6);
		} else if (line[0] == ':' && comments) {
			(*comments)++;
		}
		line = nl ? nl + 1 : NULL;
	}
	return any;
}

int ts_sse_next(struct ts_sse *c, struct ts_sse_event *ev, double timeout_s,
		int *comments)
{
	double t0 = now_s();

	if (!c->headers_done && ts_sse_headers(c, timeout_s))
		return -1;
	for (;;) {
		char *end = strstr(c->buf, "\n\n");
		int any;

		if (!end) {
			double left = timeout_s - (now_s() - t0);
			if (left <= 0 || (!ts_sse_fill(c, left) && c->closed))
				return 0;
			continue;
		}
		*end = '\0';
		any = parse_block(c->buf, ev, comments);
		consume(c, (size_t)(end + 2 - c->buf));
		if (any)
			return 1;
	}
}
