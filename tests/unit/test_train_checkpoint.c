/* SPDX-License-Identifier: Apache-2.0 */
/* test_train_checkpoint.c - checkpoint container: round trip, and every
 * corruption of an untrusted blob is refused with a clear error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "train/checkpoint.h"

#include <string.h>

static void *make_blob(size_t *len)
{
	static float params[100];
	static const char meta[] = "{\"epoch\":3}";
	struct train_ckpt c = {0};
	char err[CORE_ERR_LEN];
	void *blob;

	for (int i = 0; i < 100; i++)
		params[i] = (float)i * 0.5f;
	assert_int_equal(train_ckpt_add(&c, "params", params, sizeof params,
					err, sizeof err),
			 CORE_OK);
	assert_int_equal(
	    train_ckpt_add(&c, "meta", meta, strlen(meta), err, sizeof err),
	    CORE_OK);
	assert_int_equal(train_ckpt_add(&c, "empty", NULL, 0, err, sizeof err),
			 CORE_OK);
	assert_int_equal(train_ckpt_encode(&c, &blob, len, err, sizeof err),
			 CORE_OK);
	return blob;
}

static void round_trip(void **state)
{
	size_t len;
	void *blob = make_blob(&len);
	struct train_ckpt d;
	char err[CORE_ERR_LEN];
	const struct train_ckpt_section *s;

	assert_int_equal(train_ckpt_decode(blob, len, &d, err, sizeof err),
			 CORE_OK);
	assert_int_equal(d.n, 3);
	s = train_ckpt_find(&d, "params");
	assert_non_null(s);
	assert_int_equal(s->size, 400);
	assert_true(((const float *)s->data)[99] == 49.5f);
	s = train_ckpt_find(&d, "meta");
	assert_memory_equal(s->data, "{\"epoch\":3}", 11);
	assert_null(train_ckpt_find(&d, "nothing"));
	core_free(blob);
}

static void corruption_is_refused(void **state)
{
	size_t len;
	unsigned char *blob = make_blob(&len);
	struct train_ckpt d;
	char err[CORE_ERR_LEN];

	/* truncated anywhere */
	for (size_t cut = 0; cut < len; cut += 37)
		assert_int_equal(
		    train_ckpt_decode(blob, cut, &d, err, sizeof err),
		    CORE_ERR_INVALID);
	/* a flipped data byte: checksum */
	blob[len - 20] ^= 1;
	assert_int_equal(train_ckpt_decode(blob, len, &d, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "checksum"));
	blob[len - 20] ^= 1;
	/* bad magic, version, section count, huge size */
	blob[0] = 'X';
	assert_int_equal(train_ckpt_decode(blob, len, &d, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "magic"));
	blob[0] = 'L';
	blob[8] = 2;
	assert_int_equal(train_ckpt_decode(blob, len, &d, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "version"));
	blob[8] = 1;
	blob[12] = 200;
	assert_int_equal(train_ckpt_decode(blob, len, &d, err, sizeof err),
			 CORE_ERR_INVALID);
	blob[12] = 3;
	memset(blob + 16 + 40, 0xff, 8); /* first section's size */
	assert_int_equal(train_ckpt_decode(blob, len, &d, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "outside"));
	core_free(blob);
}

static void bad_sections_are_refused(void **state)
{
	struct train_ckpt c = {0};
	char err[CORE_ERR_LEN];
	int x = 1;
	void *blob;
	size_t len;

	assert_int_equal(train_ckpt_add(&c, "", &x, 4, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(train_ckpt_add(&c,
					"a-name-that-is-far-too-long-for-it",
					&x, 4, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(train_ckpt_add(&c, "x", &x, 4, err, sizeof err),
			 CORE_OK);
	assert_int_equal(train_ckpt_add(&c, "x", &x, 4, err, sizeof err),
			 CORE_ERR_INVALID);
	core_alloc_fail_after(0);
	assert_int_equal(train_ckpt_encode(&c, &blob, &len, err, sizeof err),
			 CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
	assert_null(blob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(corruption_is_refused),
	    cmocka_unit_test(bad_sections_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
