/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private declarations of the errovl daemon, one section per .c file.
 */
#ifndef OVL_H
#define OVL_H

#include <stdbool.h>
#include <stddef.h>

#include <fuse_lowlevel.h>


#include "ovl_entry.h"

/* volatile.c */

/*
 * Called once after the layers are opened and the workdir is locked,
 * before the FUSE session is mounted. For every mount: initialises
 * ofs->upper_err and ofs->sb_err. For volatile mounts additionally:
 * checks the marker and the checkpoint of a previous session (refuses
 * with a logged reason), refuses an upper with an unseen writeback
 * error, creates work/incompat/volatile/dirty durably, snapshots
 * ofs->upper_err, writes the "mounted" checkpoint and starts the
 * harvest thread. Returns 0 or -errno (already logged).
 */
int ovl_volatile_setup(struct ovl_fs *ofs);
/*
 * Called once after the FUSE session loop ended and the kernel
 * unmounted, while the workdir lock is still held: stops the harvest
 * thread, flushes the upper, harvests, writes the final checkpoint
 * and, if clean, removes the marker.
 */
void ovl_volatile_teardown(struct ovl_fs *ofs);
/*
 * Returns 1 when not volatile (do a real sync), 0 when volatile and no
 * upper error was recorded since mount (skip the sync), or the recorded
 * -errno when volatile and an upper error was recorded (sticky).
 */
int ovl_sync_status(struct ovl_fs *ofs);
/*
 * Records an upper-layer error @err (< 0) that no application call
 * returned directly; @what names the operation for the log. Lock-free,
 * callable from any thread.
 */
void ovl_upper_error(struct ovl_fs *ofs, int err, const char *what);

/* fault.c */

enum ovl_fault_site {
	OVL_FAULT_WRITE, /* data write to an upper file */
	OVL_FAULT_COPY_UP, /* data copy during copy-up */
	OVL_FAULT_HARVEST, /* syncfs harvest of the upper fs */
	OVL_FAULT_FSYNC, /* real fsync of an upper file (non-volatile) */
	OVL_FAULT_NR,
};

/*
 * Returns 0, or the -errno armed for @site by a test through the
 * control ioctl. Never fails unless the mount has -o test_faults.
 */
int ovl_fault(struct ovl_fs *ofs, enum ovl_fault_site site);

/* ioctl.c */

/*
 * The control interface (include/errovl/control.h) behind the
 * fuse_lowlevel_ops .ioctl entry: status, syncfs-equivalent, faults.
 */
void ovl_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		  struct fuse_file_info *fi, unsigned int flags,
		  const void *in_buf, size_t in_bufsz, size_t out_bufsz);

#endif /* OVL_H */
