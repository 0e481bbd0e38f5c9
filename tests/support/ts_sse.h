/* SPDX-License-Identifier: Apache-2.0 */
/* ts_sse.h - a raw Server-Sent Events client for the tests: HTTP/1.0 over
 * a socket (so the body is the stream itself, no chunks, and the server
 * closes it at the end), read incrementally event by event. */
#ifndef LMNAS_TS_SSE_H
#define LMNAS_TS_SSE_H

#include <stddef.h>

struct ts_sse {
	int fd;
	char buf[65536];
	size_t len;
	int headers_done, closed;
	long status;	 /* once the headers are in */
	char ctype[128]; /* Content-Type, "" when absent */
};

struct ts_sse_event {
	long long id;
	char kind[64];	 /* the event: field */
	char data[2048]; /* the (last) data: line */
};

/* Connects to 127.0.0.1:port and sends GET target (path and query) with
 * Accept: text/event-stream, the bearer token (NULL: none) and
 * Last-Event-ID (when > 0). 0, or -1 when it could not connect or send. */
int ts_sse_open(struct ts_sse *c, int port, const char *target,
		const char *token, long long last_id);
/* Reads the response headers (status, Content-Type); 0, or -1 when they
 * did not come within timeout_s. */
int ts_sse_headers(struct ts_sse *c, double timeout_s);
/* The next event into ev, skipping comment blocks (counted in *comments
 * when not NULL) and retry: blocks. 1 for an event; 0 when none came
 * within timeout_s or the stream closed (c->closed says which). Reads the
 * headers first when needed (-1 when they did not come). */
int ts_sse_next(struct ts_sse *c, struct ts_sse_event *ev, double timeout_s,
		int *comments);
/* Waits up to timeout_s for data; 1 when some came, 0 otherwise. */
int ts_sse_fill(struct ts_sse *c, double timeout_s);
void ts_sse_close(struct ts_sse *c);

#endif
