/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The errovl control interface: ioctls on a file or directory of a
 * mounted errovl filesystem (normally its root directory).
 *
 * FUSE only forwards "restricted" ioctls: the kernel derives the size
 * and direction of the argument from the command number, so every
 * command is _IO/_IOR/_IOW with a fixed-size struct. Each struct starts
 * with a version word; the daemon rejects versions it does not know
 * with EINVAL and always fills in the version it answers with.
 *
 * Errors are returned as ioctl(2) failures with errno set. A mount
 * that is not errovl answers ENOTTY (or EINVAL/ENOSYS, depending on
 * the filesystem).
 *
 * See docs/volatile.md and errovlctl(1).
 */
#ifndef ERROVL_CONTROL_H
#define ERROVL_CONTROL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ERROVL_IOC_MAGIC 0xE7

/* errovl_status.state */
#define ERROVL_STATE_CLEAN 0u /* no upper error recorded since mount */
#define ERROVL_STATE_INCONSISTENT 1u /* an upper error was recorded */

/* errovl_status.flags */
#define ERROVL_STATUS_VOLATILE (1u << 0) /* mounted with -o volatile */
#define ERROVL_STATUS_UPPER (1u << 1) /* has an upper layer */
#define ERROVL_STATUS_TEST_FAULTS (1u << 2) /* -o test_faults */
#define ERROVL_STATUS_PASSTHROUGH (1u << 3) /* FUSE passthrough is on */
#define ERROVL_STATUS_WRITEBACK (1u << 4) /* FUSE writeback cache is on */
#define ERROVL_STATUS_URING (1u << 5) /* requests come through io_uring */

#define ERROVL_STATUS_VERSION 1u

/* Live state of one mount; filled by the daemon. */
struct errovl_status {
	__u32 version; /* in: 0 or ERROVL_STATUS_VERSION; out: version */
	__u32 size; /* out: sizeof(struct errovl_status) */
	__u32 flags; /* ERROVL_STATUS_* */
	__u32 state; /* ERROVL_STATE_* */
	__s32 error; /* errno fsync now returns (volatile), else 0 */
	__u32 error_count; /* upper errors recorded since mount */
	__s32 first_errno; /* positive errno of the first error, or 0 */
	__s32 last_errno; /* positive errno of the latest error, or 0 */
	__u64 first_error_ns; /* CLOCK_REALTIME of the first error, ns */
	__u64 last_error_ns; /* CLOCK_REALTIME of the latest error, ns */
	__u64 mount_time_ns; /* CLOCK_REALTIME of the mount, ns */
	__u32 pid; /* daemon process id */
	__u32 harvest_interval_ms; /* 0: harvest only at unmount */
	__u8 instance[16]; /* random id of this mount's error counter */
	__u8 reserved[32]; /* zero */
};

/* errovl_fault.site: one per capture path of the daemon. */
#define ERROVL_FAULT_WRITE 0u /* data write to an upper file */
#define ERROVL_FAULT_COPY_UP 1u /* data copy during copy-up */
#define ERROVL_FAULT_HARVEST 2u /* syncfs harvest of the upper fs */
#define ERROVL_FAULT_FSYNC 3u /* real fsync of an upper file */
#define ERROVL_FAULT_NR 4u

#define ERROVL_FAULT_ALWAYS (-1) /* errovl_fault.count: every call */

#define ERROVL_FAULT_VERSION 1u

/*
 * Arms (error > 0) or disarms (error == 0) one fault site. Only
 * honoured by a daemon mounted with -o test_faults; others answer
 * ENOTTY. For tests only.
 */
struct errovl_fault {
	__u32 version; /* ERROVL_FAULT_VERSION */
	__u32 site; /* ERROVL_FAULT_* */
	__s32 error; /* positive errno to inject, 0 to disarm */
	__s32 count; /* next @count calls fail, or ERROVL_FAULT_ALWAYS */
};

/* Fills struct errovl_status. */
#define ERROVL_IOC_STATUS _IOR(ERROVL_IOC_MAGIC, 1, struct errovl_status)
/*
 * The syncfs(2) equivalent of the mount; see docs/volatile.md.
 * Non-volatile: syncs the upper filesystem and reports each upper
 * error once per open file description. Volatile: no sync; fails
 * with EIO on every call once an upper error was recorded.
 */
#define ERROVL_IOC_SYNC _IO(ERROVL_IOC_MAGIC, 2)
/* Arms a fault site (tests only, needs -o test_faults). */
#define ERROVL_IOC_FAULT _IOW(ERROVL_IOC_MAGIC, 3, struct errovl_fault)

#ifdef __cplusplus
}
#endif

#endif /* ERROVL_CONTROL_H */
