/* SPDX-License-Identifier: Apache-2.0 */
/* unpack.c - checked extraction of zip / tar / tar.gz archives (see
 * unpack.h for the rules). */
#include "unpack/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNPACK_CHUNK 65536

enum core_status unpack_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name), depth = 0;
	const char *p = name;

	if (n == 0) {
		core_errf(err, errlen, "empty name");
		return CORE_ERR_INVALID;
	}
	if (n > UNPACK_NAME_MAX) {
		core_errf(err, errlen, "name longer than %d bytes",
			  UNPACK_NAME_MAX);
		return CORE_ERR_INVALID;
	}
	if (!core_utf8_valid(name, n)) {
		core_errf(err, errlen, "name is not valid UTF-8");
		return CORE_ERR_INVALID;
	}
	if (name[0] == '/') {
		core_errf(err, errlen, "absolute path");
		return CORE_ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		/* a backslash is a separator on Windows: "..\x" would climb
		 * out there, and "a\b" means a folder to the uploader */
		if (c < 0x20 || c == 0x7f || c == '\\') {
			core_errf(err, errlen,
				  "control character or backslash in name");
			return CORE_ERR_INVALID;
		}
	}
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			core_errf(err, errlen, "'..' component");
			return CORE_ERR_INVALID;
		}
		if (len > 0 && !(len == 1 && p[0] == '.'))
			depth++;
		p += len;
		if (*p == '/')
			p++;
	}
	if (depth == 0) {
		core_errf(err, errlen, "name has no component");
		return CORE_ERR_INVALID;
	}
	if (depth > UNPACK_DEPTH_MAX) {
		core_errf(err, errlen, "more than %d path components",
			  UNPACK_DEPTH_MAX);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

static int unpack_remove_one(const char *path, const struct stat *sb, int flag,
			     struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

enum core_status unpack_tree_remove(const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (lstat(path, &sb) != 0 && errno == ENOENT)
		return CORE_OK;
	if (nftw(path, unpack_remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		core_errf(err, errlen, "cannot remove %s: %s", path,
			  strerror(errno));
		return CORE_ERR_IO;
	}
	return CORE_OK;
}

/* Opens (creating as needed) the directory of every component of name but
 * the last (all of them when whole); returns an fd the caller closes, and
 * the last component in *leaf. Links cannot exist under root (none is ever
 * created), O_NOFOLLOW makes sure. */
static int unpack_dir_open(int root, char *name, int whole, char **leaf)
{
	int fd = dup(root);
	char *p = name, *slash;

	*leaf = NULL;
	while (fd >= 0 && *p) {
		int next;

		slash = strchr(p, '/');
		if (!slash && !whole) {
			*leaf = p;
			break;
		}
		if (slash)
			*slash = '\0';
		if (*p && strcmp(p, ".") != 0) {
			if (mkdirat(fd, p, 0700) != 0 && errno != EEXIST) {
				close(fd);
				return -1;
			}
			next = openat(fd, p,
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					  O_CLOEXEC);
			close(fd);
			fd = next;
		}
		if (!slash)
			break;
		*slash = '/';
		p = slash + 1;
	}
	return fd;
}

static const char *unpack_type_name(mode_t t)
{
	switch (t) {
	case AE_IFLNK: return "symbolic link";
	case AE_IFCHR: return "character device";
	case AE_IFBLK: return "block device";
	case AE_IFIFO: return "FIFO";
	case AE_IFSOCK: return "socket";
	default: return "entry of unknown type";
	}
}

/* Copies the data of the current entry into fd, checking the running total
 * against the cap before each chunk is written. */
static enum core_status unpack_data_copy(struct archive *a, int fd,
					 const char *shown,
					 const struct unpack_limits *lim,
					 struct unpack_stats *st, char *buf,
					 char *err, size_t errlen)
{
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, UNPACK_CHUNK);
		if (n == 0)
			return CORE_OK;
		if (n < 0) {
			core_errf(err, errlen, "entry '%s': %s", shown,
				  archive_error_string(a));
			return CORE_ERR_INVALID;
		}
		if ((uint64_t)n > lim->max_bytes - st->bytes) {
			core_errf(err, errlen,
				  "entry '%s': the archive expands past %llu "
				  "bytes",
				  shown, (unsigned long long)lim->max_bytes);
			return CORE_ERR_NOMEM;
		}
		for (la_ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				core_errf(err, errlen, "entry '%s': write: %s",
					  shown, strerror(errno));
				return CORE_ERR_IO;
			}
			off += w;
		}
		st->bytes += (uint64_t)n;
	}
}

/* One entry: its checks, then its directory or file. */
static enum core_status unpack_entry(struct archive *a, struct archive_entry *e,
				     int root, const struct unpack_limits *lim,
				     struct unpack_stats *st, char *buf,
				     char *err, size_t errlen)
{
	const char *raw = archive_entry_pathname_utf8(e);
	char shown[128], why[128], *name = NULL, *leaf;
	mode_t type = archive_entry_filetype(e);
	enum core_status rc = CORE_OK;
	int dfd = -1, fd = -1;

	if (!raw)
		raw = archive_entry_pathname(e);
	if (!raw)
		raw = "";
	core_utf8_copy(shown, sizeof shown, raw);
	rc = unpack_name_check(raw, why, sizeof why);
	if (rc) {
		core_errf(err, errlen, "entry '%s': %s", shown, why);
		return rc;
	}
	if (archive_entry_hardlink(e)) {
		core_errf(err, errlen, "entry '%s': hard link refused", shown);
		return CORE_ERR_INVALID;
	}
	if (type != AE_IFREG && type != AE_IFDIR) {
		core_errf(err, errlen, "entry '%s': %s refused", shown,
			  unpack_type_name(type));
		return CORE_ERR_INVALID;
	}
	if (archive_entry_is_encrypted(e)) {
		core_errf(err, errlen, "entry '%s': encrypted entry refused",
			  shown);
		return CORE_ERR_INVALID;
	}
	name = core_strdup(raw);
	if (!name) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	dfd = unpack_dir_open(root, name, type == AE_IFDIR, &leaf);
	if (dfd < 0) {
		core_errf(err, errlen, "entry '%s': directory: %s", shown,
			  strerror(errno));
		rc = errno == ENOTDIR || errno == ELOOP ? CORE_ERR_INVALID
							: CORE_ERR_IO;
		goto out;
	}
	if (type == AE_IFDIR)
		goto out;
	fd = openat(dfd, leaf,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		core_errf(err, errlen, "entry '%s': %s", shown,
			  errno == EEXIST ? "duplicate entry"
					  : strerror(errno));
		rc = errno == EEXIST || errno == EISDIR ? CORE_ERR_INVALID
							: CORE_ERR_IO;
		goto out;
	}
	rc = unpack_data_copy(a, fd, shown, lim, st, buf, err, errlen);
	if (!rc)
		st->files++;
out:
	if (fd >= 0 && close(fd) != 0 && !rc) {
		core_errf(err, errlen, "entry '%s': close: %s", shown,
			  strerror(errno));
		rc = CORE_ERR_IO;
	}
	if (dfd >= 0)
		close(dfd);
	core_free(name);
	return rc;
}

enum core_status unpack_archive_extract(const char *src, const char *dst_dir,
					const struct unpack_limits *lim,
					struct unpack_stats *st, char *err,
					size_t errlen)
{
	struct unpack_stats local = {0};
	struct archive *a = NULL;
	struct archive_entry *e;
	enum core_status rc = CORE_OK;
	char *buf = NULL;
	int root = -1, made = 0;

	if (!st)
		st = &local;
	memset(st, 0, sizeof *st);
	if (mkdir(dst_dir, 0700) != 0) {
		core_errf(err, errlen, "cannot create %s: %s", dst_dir,
			  strerror(errno));
		return CORE_ERR_IO;
	}
	made = 1;
	root = open(dst_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	buf = core_malloc(UNPACK_CHUNK);
	a = archive_read_new();
	if (root < 0 || !buf || !a) {
		core_errf(err, errlen, "cannot start extraction: %s",
			  root < 0 ? strerror(errno) : "out of memory");
		rc = root < 0 ? CORE_ERR_IO : CORE_ERR_NOMEM;
		goto out;
	}
	/* only the formats we document: no cpio, 7z, rar, iso images */
	archive_read_support_format_zip(a);
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	if (archive_read_open_filename(a, src, 10240) != ARCHIVE_OK) {
		core_errf(err, errlen, "not a zip, tar or tar.gz archive: %s",
			  archive_error_string(a));
		rc = CORE_ERR_INVALID;
		goto out;
	}
	for (;;) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			core_errf(err, errlen,
				  "broken archive after %llu entries: %s",
				  (unsigned long long)st->entries,
				  archive_error_string(a));
			rc = CORE_ERR_INVALID;
			goto out;
		}
		if (st->entries >= lim->max_entries) {
			core_errf(err, errlen,
				  "the archive has more than %llu entries",
				  (unsigned long long)lim->max_entries);
			rc = CORE_ERR_NOMEM;
			goto out;
		}
		st->entries++;
		rc = unpack_entry(a, e, root, lim, st, buf, err, errlen);
		if (rc)
			goto out;
	}
out:
	if (a)
		archive_read_free(a);
	core_free(buf);
	if (root >= 0)
		close(root);
	if (rc && made) {
		char e2[CORE_ERR_LEN];
		unpack_tree_remove(dst_dir, e2, sizeof e2);
	}
	return rc;
}
