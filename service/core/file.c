/* SPDX-License-Identifier: Apache-2.0 */
/* file.c - opening input files (regular files only, never blocking on a
 * FIFO), bounded whole-file reads and atomic writes. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum core_status core_file_open_regular(const char *path, int *fd_out,
					char *err, size_t errlen)
{
	struct stat sb;
	int fd, fl;

	*fd_out = -1;
	/* O_NONBLOCK: opening a FIFO for reading blocks until a writer comes
	 * (forever, for an input file named by mistake); with it the open
	 * returns at once and fstat tells what the path is */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		core_errf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? CORE_ERR_NOT_FOUND : CORE_ERR_IO;
	}
	if (fstat(fd, &sb) != 0) {
		core_errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return CORE_ERR_IO;
	}
	if (!S_ISREG(sb.st_mode)) {
		core_errf(err, errlen, "%s: not a regular file (%s)", path,
			  S_ISDIR(sb.st_mode)	 ? "a directory"
			  : S_ISFIFO(sb.st_mode) ? "a named pipe"
			  : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode)
			      ? "a device"
			  : S_ISSOCK(sb.st_mode) ? "a socket"
						 : "not a plain file");
		close(fd);
		return CORE_ERR_INVALID;
	}
	/* a regular file never blocks, but reads stay plain blocking ones */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		core_errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return CORE_ERR_IO;
	}
	*fd_out = fd;
	return CORE_OK;
}

enum core_status core_file_read(const char *path, size_t max_bytes, char **out,
				size_t *len, char *err, size_t errlen)
{
	struct stat stbuf;
	char *buf = NULL;
	size_t got = 0;
	enum core_status st;
	int fd;

	*out = NULL;
	st = core_file_open_regular(path, &fd, err, errlen);
	if (st)
		return st;
	if (fstat(fd, &stbuf) != 0) {
		core_errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return CORE_ERR_IO;
	}
	if ((unsigned long long)stbuf.st_size > max_bytes) {
		core_errf(err, errlen,
			  "%s: %lld bytes, more than the limit of %zu", path,
			  (long long)stbuf.st_size, max_bytes);
		close(fd);
		return CORE_ERR_INVALID;
	}
	buf = core_malloc((size_t)stbuf.st_size + 1);
	if (!buf) {
		core_errf(err, errlen, "%s: out of memory", path);
		close(fd);
		return CORE_ERR_NOMEM;
	}
	while (got < (size_t)stbuf.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)stbuf.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			core_errf(err, errlen, "%s: read failed: %s", path,
				  r < 0 ? strerror(errno) : "file shrank");
			core_free(buf);
			close(fd);
			return CORE_ERR_IO;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	if (len)
		*len = got;
	return CORE_OK;
}

enum core_status core_file_write_atomic(const char *path, const void *data,
					size_t len, char *err, size_t errlen)
{
	char tmp[4096];
	const unsigned char *p = data;
	size_t done = 0;
	int fd;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof tmp) {
		core_errf(err, errlen, "%s: path too long", path);
		return CORE_ERR_INVALID;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		core_errf(err, errlen, "%s: %s", tmp, strerror(errno));
		return CORE_ERR_IO;
	}
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			core_errf(err, errlen, "%s: write failed: %s", tmp,
				  strerror(errno));
			close(fd);
			unlink(tmp);
			return CORE_ERR_IO;
		}
		done += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		core_errf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return CORE_ERR_IO;
	}
	if (rename(tmp, path) != 0) {
		core_errf(err, errlen, "%s: rename failed: %s", path,
			  strerror(errno));
		unlink(tmp);
		return CORE_ERR_IO;
	}
	return CORE_OK;
}
