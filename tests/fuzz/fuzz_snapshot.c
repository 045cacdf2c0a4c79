// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz_snapshot.c - libFuzzer target for errseq_snapshot_decode().
 *
 * Any input must decode to 0 or -EINVAL without a crash or undefined
 * behaviour. An input that decodes must survive a round trip: encoding
 * the result gives back exactly the input bytes (the format has no
 * redundant encodings), and decoding that again gives the same snapshot.
 * No state is kept between inputs and nothing touches the filesystem.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errseq/counter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[ERRSEQ_SNAPSHOT_ENCODED_SIZE];
	struct errseq_snapshot s, again;
	int r;

	r = errseq_snapshot_decode(data, size, &s);
	if (r == -EINVAL)
		return 0;
	if (r != 0)
		abort();
	if (errseq_snapshot_encode(&s, buf, sizeof(buf)) !=
	    ERRSEQ_SNAPSHOT_ENCODED_SIZE)
		abort();
	if (size != sizeof(buf) || memcmp(buf, data, size) != 0)
		abort();
	if (errseq_snapshot_decode(buf, sizeof(buf), &again) != 0 ||
	    memcmp(&s, &again, sizeof(s)) != 0)
		abort();
	return 0;
}
