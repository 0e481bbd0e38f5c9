/* SPDX-License-Identifier: Apache-2.0 */
/* unpack.h - safe extraction of an uploaded dataset archive (zip, tar,
 * tar.gz) with Debian's libarchive.
 *
 * Layer: unpack sits right above core (beside data) and includes only core;
 * the http layer (POST /v1/datasets) and `lmnas dataset import` use it. The
 * module is not called "archive" because libarchive owns the archive_*
 * names.
 *
 * An archive from outside is hostile until proven otherwise. Every entry is
 * checked before a byte of it is written:
 *   - its name: valid UTF-8, no control characters, no backslash, not
 *     absolute, no ".." component, at most UNPACK_NAME_MAX bytes and
 *     UNPACK_DEPTH_MAX components (refused, never rewritten);
 *   - its type: regular files and directories only; symbolic links, hard
 *     links, devices, FIFOs, sockets and encrypted entries are refused with
 *     the entry named;
 *   - counts: more than lim->max_entries entries fail;
 *   - size: the running total of bytes written is checked before each chunk
 *     is written, so a zip bomb stops as soon as it passes lim->max_bytes
 *     (a declared size is never trusted: a zip's local header may omit
 *     it or lie).
 * Files are created with O_EXCL | O_NOFOLLOW inside a directory that this
 * call creates, so a duplicate entry fails instead of overwriting.
 *
 * Worked example:
 *
 *   struct unpack_limits lim = {.max_entries = 100000,
 *                               .max_bytes = 4ull << 30};
 *   struct unpack_stats st;
 *   if (unpack_archive_extract("/data/up/7.zip", "/data/ds/7", &lim, &st,
 *                              err, sizeof err))
 *       ... 422 with err ...
 */
#ifndef LMNAS_UNPACK_H
#define LMNAS_UNPACK_H

#include "core/core.h"

#include <stdint.h>

#define UNPACK_NAME_MAX	 1024 /* bytes of an entry name */
#define UNPACK_DEPTH_MAX 32   /* path components of an entry name */

struct unpack_limits {
	uint64_t max_entries; /* entries of any type (0: no entry allowed) */
	uint64_t max_bytes;   /* total bytes of all files once expanded */
};

struct unpack_stats {
	uint64_t entries; /* entries seen (including the refused one) */
	uint64_t files;	  /* regular files written */
	uint64_t bytes;	  /* bytes written (at most max_bytes) */
};

/* Checks one entry name (see above). CORE_OK or CORE_ERR_INVALID with the
 * reason in err (the name itself is not repeated). */
enum core_status unpack_name_check(const char *name, char *err, size_t errlen);

/* Extracts the archive at src (zip, tar, tar.gz; the format is detected from
 * the content, never from the name) into dst_dir, which this call creates
 * (mode 0700; it must not exist). st (optional) is filled on success and on
 * failure. On failure (CORE_ERR_INVALID: a refused entry or a broken
 * archive, err naming the entry; CORE_ERR_NOMEM: a limit; CORE_ERR_IO)
 * dst_dir and everything written into it are removed. */
enum core_status unpack_archive_extract(const char *src, const char *dst_dir,
					const struct unpack_limits *lim,
					struct unpack_stats *st, char *err,
					size_t errlen);

/* Removes the directory tree at path (no symlink is followed). Missing path:
 * CORE_OK. */
enum core_status unpack_tree_remove(const char *path, char *err, size_t errlen);

#endif
