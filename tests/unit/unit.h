/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * unit.h - helpers shared by the cmocka unit tests.
 */
#ifndef ERRSEQ_UNIT_H
#define ERRSEQ_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* Seed for randomised tests: $ERRSEQ_TEST_SEED or a fixed default. */
static inline uint64_t unit_seed(void)
{
	const char *s = getenv("ERRSEQ_TEST_SEED");

	return s && *s ? strtoull(s, NULL, 0) : 0x5eed2020ull;
}

/* xorshift64*: small, fast, reproducible from the seed. */
static inline uint64_t unit_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static inline uint32_t unit_rand_below(uint64_t *state, uint32_t n)
{
	return (uint32_t)((unit_rand(state) >> 32) % n);
}

#endif /* ERRSEQ_UNIT_H */
