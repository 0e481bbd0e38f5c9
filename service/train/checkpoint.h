/* SPDX-License-Identifier: Apache-2.0 */
/* checkpoint.h - private to train (included by train.h): the checkpoint
 * container. A checkpoint is a list of named binary sections (architecture
 * JSON, parameters, BN running statistics, optimizer state, metadata JSON with
 * the epoch and RNG state, ...) in one blob that goes to a file or into the
 * database as bytea:
 *
 *   "LMNASCK1"  u32 version (1)  u32 nsections
 *   nsections x { char name[32] (NUL-padded), u64 offset, u64 size,
 *                 u8 sha256[32] }
 *   section bytes
 *
 * All integers little-endian. A decoded checkpoint is untrusted input: every
 * offset, size and checksum is verified before anything is handed out. */
#ifndef LMNAS_TRAIN_CHECKPOINT_H
#define LMNAS_TRAIN_CHECKPOINT_H

#include "core/core.h"

#define TRAIN_CKPT_MAX_SECTIONS 64
#define TRAIN_CKPT_NAME_LEN	32
#define TRAIN_CKPT_MAX_BYTES	((size_t)1 << 31)

struct train_ckpt_section {
	char name[TRAIN_CKPT_NAME_LEN]; /* NUL-terminated, < 32 chars */
	const void *data;
	size_t size;
};

struct train_ckpt {
	int n;
	struct train_ckpt_section s[TRAIN_CKPT_MAX_SECTIONS];
};

/* Adds a section (pointer kept, not copied: data must outlive the encode). */
enum core_status train_ckpt_add(struct train_ckpt *c, const char *name,
				const void *data, size_t size, char *err,
				size_t errlen);

/* Encodes into one allocation owned by the caller (core_free). */
enum core_status train_ckpt_encode(const struct train_ckpt *c, void **blob,
				   size_t *len, char *err, size_t errlen);

/* Decodes blob (len bytes): out's sections point into blob, which must
 * outlive out. Errors name the problem (bad magic, section out of range,
 * checksum mismatch of section "params", ...). */
enum core_status train_ckpt_decode(const void *blob, size_t len,
				   struct train_ckpt *out, char *err,
				   size_t errlen);

/* The section called name, or NULL. */
const struct train_ckpt_section *train_ckpt_find(const struct train_ckpt *c,
						 const char *name);

#endif
