/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * errseq_counter: an errseq_t plus an overflow counter, so that every
 * error set after a snapshot is detected, and snapshots that can be
 * checked passively and persisted to disk.
 *
 * See docs/errseq.md and lib/counter.c, lib/snapshot.c.
 */
#ifndef ERRSEQ_COUNTER_H
#define ERRSEQ_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#include "errseq/errseq.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ERRSEQ_ID_SIZE 16

/*
 * The error source. Both words are only accessed atomically by the
 * library; callers treat the struct as opaque after errseq_counter_init().
 */
struct errseq_counter {
	errseq_t errseq; /* kernel-exact errseq word */
	uint32_t errors; /* incremented once per valid set */
	uint8_t instance[ERRSEQ_ID_SIZE]; /* random, chosen by _init() */
};

/* A passive observer's view of a counter at one moment. */
struct errseq_snapshot {
	errseq_t errseq; /* errseq word with ERRSEQ_SEEN masked off */
	uint32_t errors; /* errors word at the same moment */
	uint8_t instance[ERRSEQ_ID_SIZE]; /* counter it was taken from */
	uint8_t boot_id[ERRSEQ_ID_SIZE]; /* boot it was taken in */
};

/* Flags for errseq_counter_snapshot(). */
#define ERRSEQ_SNAPSHOT_BASELINE 0u /* an unseen error becomes the baseline */
#define ERRSEQ_SNAPSHOT_REFUSE 1u /* an unseen error: fail with -EIO */
#define ERRSEQ_SNAPSHOT_NOWAIT 2u /* racing setter: -EAGAIN, no retry */

/* Size of the on-disk encoding of a snapshot. */
#define ERRSEQ_SNAPSHOT_ENCODED_SIZE 64

void errseq_counter_init(struct errseq_counter *c);
int errseq_counter_set(struct errseq_counter *c, int err);
int errseq_counter_snapshot(struct errseq_counter *c,
			    struct errseq_snapshot *ret, unsigned flags);
int errseq_counter_check(struct errseq_counter *c,
			 const struct errseq_snapshot *snap);

int errseq_snapshot_encode(const struct errseq_snapshot *snap, void *buf,
			   size_t len);
int errseq_snapshot_decode(const void *buf, size_t len,
			   struct errseq_snapshot *ret);
int errseq_snapshot_save(int dirfd, const char *name,
			 const struct errseq_snapshot *snap);
int errseq_snapshot_load(int dirfd, const char *name,
			 struct errseq_snapshot *ret);
int errseq_snapshot_same_boot(const struct errseq_snapshot *snap);

int errseq_boot_id(uint8_t ret[ERRSEQ_ID_SIZE]);
uint32_t errseq_crc32c(uint32_t crc, const void *buf, size_t len);
int errseq_file_replace(int dirfd, const char *name, const void *buf,
			size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ERRSEQ_COUNTER_H */
