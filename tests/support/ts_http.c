/* SPDX-License-Identifier: Apache-2.0 */
/* ts_http.c - test support for HTTP: a libcurl client that returns status,
 * headers and body, and raw TCP helpers for what curl will not do (slow or
 * hand-made requests). */
#include "testsupport.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct grow {
	char *data;
	size_t len;
};

static int grow_append(struct grow *g, const char *p, size_t n)
{
	char *d = realloc(g->data, g->len + n + 1);

	if (!d)
		return -1;
	memcpy(d + g->len, p, n);
	g->data = d;
	g->len += n;
	g->data[g->len] = '\0';
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	return grow_append(arg, p, size * n) ? 0 : size * n;
}

/* Keeps only the header block of the last response (after a 100 Continue). */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct grow *g = arg;

	if (size * n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		g->len = 0;
	return grow_append(g, p, size * n) ? 0 : size * n;
}

int ts_http(const char *method, const char *url, const char *const *headers,
	    const char *body, size_t body_len, double timeout_s,
	    struct ts_http_reply *r)
{
	struct grow hb = {NULL, 0}, bb = {NULL, 0};
	struct curl_slist *list = NULL;
	CURL *c;
	CURLcode cc;

	memset(r, 0, sizeof *r);
	pthread_once(&curl_once, curl_init);
	c = curl_easy_init();
	if (!c) {
		snprintf(r->error, sizeof r->error, "curl_easy_init failed");
		return -1;
	}
	for (const char *const *h = headers; h && *h; h++)
		list = curl_slist_append(list, *h);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)body_len);
	}
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	} else {
		snprintf(r->error, sizeof r->error, "%s",
			 curl_easy_strerror(cc));
	}
	curl_slist_free_all(list);
	curl_easy_cleanup(c);
	r->headers = hb.data ? hb.data : calloc(1, 1);
	r->body = bb.data ? bb.data : calloc(1, 1);
	r->len = bb.len;
	return cc == CURLE_OK ? 0 : -1;
}

const char *ts_http_header(const struct ts_http_reply *r, const char *name,
			   char *buf, size_t buflen)
{
	size_t nl = strlen(name);
	const char *line = r->headers;

	while (line && *line) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > nl && line[nl] == ':' &&
		    strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			snprintf(buf, buflen, "%.*s", (int)(line + len - v), v);
			return buf;
		}
		line = end ? end + 2 : NULL;
	}
	return NULL;
}

void ts_http_reply_free(struct ts_http_reply *r)
{
	free(r->headers);
	free(r->body);
	r->headers = NULL;
	r->body = NULL;
}

int ts_tcp_connect(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

char *ts_tcp_read_all(int fd, double timeout_s)
{
	struct grow g = {NULL, 0};
	struct timespec t0, t;
	char buf[4096];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		double left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = timeout_s - ((double)(t.tv_sec - t0.tv_sec) +
				    (double)(t.tv_nsec - t0.tv_nsec) * 1e-9);
		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			break;
		n = read(fd, buf, sizeof buf);
		if (n <= 0 || grow_append(&g, buf, (size_t)n))
			break;
	}
	return g.data ? g.data : calloc(1, 1);
}
