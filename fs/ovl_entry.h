/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Core structures of the errovl daemon.
 *
 * Lock order (outermost first) is documented next to each lock.
 */
#ifndef OVL_ENTRY_H
#define OVL_ENTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "errseq/counter.h"
#include "errseq/errseq.h"

#include "params.h"

struct ovl_volatile;
struct ovl_fault;

/* One mounted filesystem. Immutable after mount unless a lock is named. */
struct ovl_fs {
	struct ovl_config config; /* parsed and validated options */

	int upper_fd; /* O_PATH of upperdir, -1 without upper */
	int workdir_fd; /* O_PATH of workdir, -1 without upper */
	int work_fd; /* O_PATH of workdir/work, -1 without upper */

	/*
	 * Upper errors that no application call returned directly
	 * (failed writeback of cached writes, harvested upper sb
	 * errors, failed background work). Written lock-free with
	 * ovl_upper_error(); see volatile.c.
	 */
	struct errseq_counter upper_err;
	/* Source for the syncfs-equivalent of non-volatile mounts. */
	errseq_t sb_err;

	struct ovl_volatile *vol; /* volatile.c state, NULL unless volatile */
	struct ovl_fault *fault; /* fault.c state, NULL unless test_faults */
};

#endif /* OVL_ENTRY_H */
