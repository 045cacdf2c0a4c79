/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deterministic fault injection for tests (-o test_faults only).
 *
 * Each site (enum ovl_fault_site) has an armed errno and a budget: the
 * next N calls of ovl_fault() for that site return -errno, or every
 * call when the budget is ERROVL_FAULT_ALWAYS. Tests arm a site through
 * ERROVL_IOC_FAULT (ioctl.c, errovlctl fault). Without -o test_faults
 * ofs->fault stays NULL and ovl_fault() is one load and a return 0, so
 * production mounts cannot be made to fail through the control ioctl.
 *
 * Arming is not atomic with respect to a concurrent ovl_fault() on the
 * same site; the budget itself is consumed with a CAS loop, so N armed
 * failures are delivered exactly N times, whatever the threads.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "errovl/control.h"
#include "ovl.h"
#include "volatile.h"

_Static_assert(ERROVL_FAULT_WRITE == OVL_FAULT_WRITE &&
		       ERROVL_FAULT_COPY_UP == OVL_FAULT_COPY_UP &&
		       ERROVL_FAULT_HARVEST == OVL_FAULT_HARVEST &&
		       ERROVL_FAULT_FSYNC == OVL_FAULT_FSYNC &&
		       ERROVL_FAULT_NR == OVL_FAULT_NR,
	       "fault site numbering is ABI");

struct ovl_fault {
	_Atomic int err[OVL_FAULT_NR]; /* positive errno, 0: disarmed */
	_Atomic int count[OVL_FAULT_NR]; /* remaining, <0: always */
};

/**
 * ovl_fault_init - enable fault injection for a -o test_faults mount
 * @ofs: the mount; ofs->fault is set when test_faults is on
 *
 * Return: 0 or -ENOMEM.
 */
int ovl_fault_init(struct ovl_fs *ofs)
{
	if (!ofs->config.test_faults)
		return 0;
	ofs->fault = calloc(1, sizeof(*ofs->fault));
	return ofs->fault ? 0 : -ENOMEM;
}

/**
 * ovl_fault_free - release the fault state of a mount
 * @ofs: the mount
 */
void ovl_fault_free(struct ovl_fs *ofs)
{
	free(ofs->fault);
	ofs->fault = NULL;
}

/**
 * ovl_fault_arm - arm or disarm one fault site
 * @ofs: the mount
 * @site: ERROVL_FAULT_* site
 * @err: positive errno to inject (1..4095), 0 to disarm
 * @count: number of calls to fail (> 0), or ERROVL_FAULT_ALWAYS
 *
 * Return: 0; -ENOTTY without -o test_faults; -EINVAL for a bad site,
 * errno or count.
 */
int ovl_fault_arm(struct ovl_fs *ofs, unsigned int site, int err, int count)
{
	struct ovl_fault *f = ofs->fault;

	if (!f)
		return -ENOTTY;
	if (site >= OVL_FAULT_NR || err < 0 || err > 4095 ||
	    (err && count != ERROVL_FAULT_ALWAYS && count <= 0))
		return -EINVAL;
	atomic_store(&f->err[site], 0);
	atomic_store(&f->count[site], err ? count : 0);
	atomic_store(&f->err[site], err);
	return 0;
}

/**
 * ovl_fault - consult a fault site
 * @ofs: the mount
 * @site: the capture path about to do its I/O
 *
 * Context: any thread; lock-free.
 * Return: 0, or the -errno armed for @site while its budget lasts.
 * Always 0 without -o test_faults.
 */
int ovl_fault(struct ovl_fs *ofs, enum ovl_fault_site site)
{
	struct ovl_fault *f = ofs->fault;
	int err, n;

	if (!f || (unsigned int)site >= OVL_FAULT_NR)
		return 0;
	err = atomic_load(&f->err[site]);
	if (!err)
		return 0;
	n = atomic_load(&f->count[site]);
	do {
		if (n == 0)
			return 0;
		if (n < 0)
			return -err;
	} while (!atomic_compare_exchange_weak(&f->count[site], &n, n - 1));
	return -err;
}
