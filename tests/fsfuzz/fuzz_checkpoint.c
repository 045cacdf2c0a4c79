// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the volatile checkpoint decoder (fs/checkpoint.c).
 * Any input must decode or be rejected without a crash, and whatever
 * decodes must re-encode to a full checkpoint.
 */
#include <stddef.h>
#include <stdint.h>

#include "volatile.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct ovl_ckpt ck;
	uint8_t buf[OVL_CKPT_SIZE];

	if (ovl_ckpt_decode(d, n, &ck) == 0 &&
	    ovl_ckpt_encode(&ck, buf, sizeof(buf)) != OVL_CKPT_SIZE)
		__builtin_trap(); /* a decoded checkpoint must re-encode */
	return 0;
}
