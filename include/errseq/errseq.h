/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * errseq_t: a kernel-exact writeback error sequence.
 *
 * See docs/errseq.md and lib/errseq.c.
 */
#ifndef ERRSEQ_ERRSEQ_H
#define ERRSEQ_ERRSEQ_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t errseq_t;

/* Bit layout, identical to Linux lib/errseq.c. */
#define ERRSEQ_MAX_ERRNO 4095u /* errno lives in the low 12 bits */
#define ERRSEQ_SHIFT 12 /* ilog2(ERRSEQ_MAX_ERRNO + 1) */
#define ERRSEQ_SEEN (1u << ERRSEQ_SHIFT) /* someone observed this value */
#define ERRSEQ_CTR_INC (1u << (ERRSEQ_SHIFT + 1)) /* one counter step */
#define ERRSEQ_CTR_MASK (~(ERRSEQ_CTR_INC - 1)) /* the 19-bit counter */

errseq_t errseq_set(errseq_t *eseq, int err);
errseq_t errseq_sample(errseq_t *eseq);
int errseq_check(errseq_t *eseq, errseq_t since);
int errseq_check_and_advance(errseq_t *eseq, errseq_t *since);
int errseq_cursor_check_and_advance(errseq_t *eseq, errseq_t *cursor);

#ifdef __cplusplus
}
#endif

#endif /* ERRSEQ_ERRSEQ_H */
