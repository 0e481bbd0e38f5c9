/* SPDX-License-Identifier: Apache-2.0 */
/* hash_rng.c - SHA-256 (OpenSSL's libcrypto), a seedable xoshiro256**
 * generator, random ids and the monotonic clock. */
#include "core.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <time.h>

void core_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void core_rng_seed(struct core_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t core_rng_next(struct core_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t core_rng_below(struct core_rng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;

	do
		x = core_rng_next(r);
	while (x >= limit);
	return x % n;
}

double core_rng_uniform(struct core_rng *r)
{
	return (double)(core_rng_next(r) >> 11) * 0x1.0p-53;
}

void core_random_hex(char *out, size_t bytes)
{
	unsigned char buf[64];

	if (bytes > sizeof buf)
		bytes = sizeof buf;
	if (RAND_bytes(buf, (int)bytes) != 1) {
		/* fall back to time-seeded bytes: ids need uniqueness, not
		 * secrecy */
		struct core_rng r;
		core_rng_seed(&r,
			      (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)out);
		for (size_t i = 0; i < bytes; i++)
			buf[i] = (unsigned char)core_rng_next(&r);
	}
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	out[2 * bytes] = '\0';
}

double core_now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
