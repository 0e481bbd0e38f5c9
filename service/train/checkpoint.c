/* SPDX-License-Identifier: Apache-2.0 */
/* checkpoint.c - encoding and verified decoding of checkpoint blobs. */
#include "checkpoint.h"

#include <openssl/evp.h>
#include <string.h>

#define MAGIC	     "LMNASCK1"
#define HEADER_BYTES 16
#define ENTRY_BYTES  (TRAIN_CKPT_NAME_LEN + 8 + 8 + 32)

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void sha256(const void *data, size_t len, unsigned char md[32])
{
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
}

enum core_status train_ckpt_add(struct train_ckpt *c, const char *name,
				const void *data, size_t size, char *err,
				size_t errlen)
{
	size_t nl = strlen(name);

	if (c->n >= TRAIN_CKPT_MAX_SECTIONS) {
		core_errf(err, errlen, "checkpoint: more than %d sections",
			  TRAIN_CKPT_MAX_SECTIONS);
		return CORE_ERR_INVALID;
	}
	if (nl == 0 || nl >= TRAIN_CKPT_NAME_LEN) {
		core_errf(err, errlen,
			  "checkpoint: section name '%s' must be "
			  "1..%d characters",
			  name, TRAIN_CKPT_NAME_LEN - 1);
		return CORE_ERR_INVALID;
	}
	if (train_ckpt_find(c, name)) {
		core_errf(err, errlen, "checkpoint: duplicate section '%s'",
			  name);
		return CORE_ERR_INVALID;
	}
	memset(c->s[c->n].name, 0, TRAIN_CKPT_NAME_LEN);
	memcpy(c->s[c->n].name, name, nl);
	c->s[c->n].data = data;
	c->s[c->n].size = size;
	c->n++;
	return CORE_OK;
}

enum core_status train_ckpt_encode(const struct train_ckpt *c, void **blob,
				   size_t *len, char *err, size_t errlen)
{
	size_t total = HEADER_BYTES + (size_t)c->n * ENTRY_BYTES, off;
	unsigned char *b, *e;

	*blob = NULL;
	*len = 0;
	for (int i = 0; i < c->n; i++) {
		if (c->s[i].size > TRAIN_CKPT_MAX_BYTES - total) {
			core_errf(err, errlen,
				  "checkpoint: larger than %zu bytes",
				  TRAIN_CKPT_MAX_BYTES);
			return CORE_ERR_INVALID;
		}
		total += c->s[i].size;
	}
	b = core_malloc(total);
	if (!b) {
		core_errf(err, errlen, "checkpoint: out of memory (%zu bytes)",
			  total);
		return CORE_ERR_NOMEM;
	}
	memcpy(b, MAGIC, 8);
	put_u32(b + 8, 1);
	put_u32(b + 12, (uint32_t)c->n);
	off = HEADER_BYTES + (size_t)c->n * ENTRY_BYTES;
	for (int i = 0; i < c->n; i++) {
		e = b + HEADER_BYTES + (size_t)i * ENTRY_BYTES;
		memcpy(e, c->s[i].name, TRAIN_CKPT_NAME_LEN);
		put_u64(e + 32, off);
		put_u64(e + 40, c->s[i].size);
		sha256(c->s[i].data, c->s[i].size, e + 48);
		if (c->s[i].size)
			memcpy(b + off, c->s[i].data, c->s[i].size);
		off += c->s[i].size;
	}
	*blob = b;
	*len = total;
	return CORE_OK;
}

enum core_status train_ckpt_decode(const void *blob, size_t len,
				   struct train_ckpt *out, char *err,
				   size_t errlen)
{
	const unsigned char *b = blob;
	uint32_t version, n;
	unsigned char md[32];

	memset(out, 0, sizeof *out);
	if (len < HEADER_BYTES || memcmp(b, MAGIC, 8) != 0) {
		core_errf(err, errlen,
			  "checkpoint: not an lmnas checkpoint "
			  "(bad magic)");
		return CORE_ERR_INVALID;
	}
	version = get_u32(b + 8);
	n = get_u32(b + 12);
	if (version != 1) {
		core_errf(err, errlen,
			  "checkpoint: version %u is not supported "
			  "(this lmnas reads version 1)",
			  version);
		return CORE_ERR_INVALID;
	}
	if (n > TRAIN_CKPT_MAX_SECTIONS ||
	    (len - HEADER_BYTES) / ENTRY_BYTES < n) {
		core_errf(err, errlen,
			  "checkpoint: %u sections do not fit "
			  "(limit %d, %zu bytes)",
			  n, TRAIN_CKPT_MAX_SECTIONS, len);
		return CORE_ERR_INVALID;
	}
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *e =
		    b + HEADER_BYTES + (size_t)i * ENTRY_BYTES;
		uint64_t off = get_u64(e + 32), size = get_u64(e + 40);
		char name[TRAIN_CKPT_NAME_LEN];

		memcpy(name, e, TRAIN_CKPT_NAME_LEN);
		if (name[TRAIN_CKPT_NAME_LEN - 1] != '\0' || name[0] == '\0') {
			core_errf(err, errlen,
				  "checkpoint: section %u has a bad "
				  "name",
				  i);
			return CORE_ERR_INVALID;
		}
		if (off > len || size > len - off) {
			core_errf(err, errlen,
				  "checkpoint: section '%s' (%llu "
				  "bytes at %llu) is outside the %zu-byte file",
				  name, (unsigned long long)size,
				  (unsigned long long)off, len);
			return CORE_ERR_INVALID;
		}
		sha256(b + off, (size_t)size, md);
		if (memcmp(md, e + 48, 32) != 0) {
			core_errf(err, errlen,
				  "checkpoint: checksum mismatch in "
				  "section '%s' (corrupt file)",
				  name);
			return CORE_ERR_INVALID;
		}
		if (train_ckpt_find(out, name)) {
			core_errf(err, errlen,
				  "checkpoint: duplicate section "
				  "'%s'",
				  name);
			return CORE_ERR_INVALID;
		}
		memcpy(out->s[out->n].name, name, TRAIN_CKPT_NAME_LEN);
		out->s[out->n].data = b + off;
		out->s[out->n].size = (size_t)size;
		out->n++;
	}
	return CORE_OK;
}

const struct train_ckpt_section *train_ckpt_find(const struct train_ckpt *c,
						 const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->s[i].name, name) == 0)
			return &c->s[i];
	return NULL;
}
