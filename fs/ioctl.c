/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control interface (include/errovl/control.h): ioctls on any file
 * or directory of the mount, normally the root directory opened by
 * errovlctl.
 *
 * FUSE forwards only restricted ioctls to the daemon: the kernel copies
 * _IOC_SIZE(cmd) bytes in for _IOW and out for _IOR, so every command
 * has a fixed-size struct and the daemon checks the sizes it got. An
 * ioctl on a directory arrives with FUSE_IOCTL_DIR and the fi of the
 * opendir handle; files and directories alike have a handle whose
 * first member is the errseq_t cursor of the syncfs-equivalent. Every
 * request gets exactly one reply.
 *
 * ERROVL_IOC_SYNC is the syncfs(2) the kernel never sends to a FUSE
 * daemon, with the kernel's semantics:
 *  - non-volatile: flush the upper filesystem (syncfs on the harvest
 *    fd), record a failure in ofs->sb_err, then report each error once
 *    per open file description: ret ? ret : check_and_advance(cursor);
 *  - volatile: no sync; EIO on every call once an upper error was
 *    recorded, else 0 (overlayfs returns EIO, not the raw errno, from
 *    syncfs: an ENOSPC would be misleading after space was freed).
 *
 * The file attribute ioctls behind lsattr/chattr (FS_IOC_GETFLAGS,
 * FS_IOC_SETFLAGS and their fsxattr forms) reach the daemon the same
 * way: the kernel's fileattr code sends them as FUSE_IOCTL with an
 * unsigned int (or struct fsxattr). They are applied to the real
 * object; a set copies the object up first, as kernel overlayfs does,
 * and keeps the flags on the real upper inode, so immutable and
 * append-only files stay protected across remounts.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "errovl/control.h"
#include "ovl.h"
#include "volatile.h"

static int ovl_ioctl_sync(struct ovl_fs *ofs, struct fuse_file_info *fi)
{
	struct ovl_handle *h;
	int r, r2;

	if (ofs->config.ovl_volatile)
		return ovl_sync_status(ofs) < 0 ? -EIO : 0;
	if (!fi || !fi->fh)
		return -EBADF;
	/* Files and directories alike: struct ovl_handle (ovl_entry.h). */
	h = (struct ovl_handle *)(uintptr_t)fi->fh;
	r = ovl_vol_sync_upper(ofs);
	r2 = errseq_cursor_check_and_advance(&ofs->sb_err, &h->sb_cursor);
	return r ? r : r2;
}

static void ovl_ioctl_status(struct ovl_fs *ofs, struct errovl_status *st)
{
	struct ovl_volatile *vol = ofs->vol;
	int r;

	memset(st, 0, sizeof(*st));
	st->version = ERROVL_STATUS_VERSION;
	st->size = sizeof(*st);
	st->pid = (uint32_t)getpid();
	st->harvest_interval_ms = ofs->config.harvest_interval_ms;
	if (ofs->config.ovl_volatile)
		st->flags |= ERROVL_STATUS_VOLATILE;
	if (ofs->config.test_faults)
		st->flags |= ERROVL_STATUS_TEST_FAULTS;
	if (ofs->passthrough)
		st->flags |= ERROVL_STATUS_PASSTHROUGH;
	if (ofs->config.writeback)
		st->flags |= ERROVL_STATUS_WRITEBACK;
	if (ovl_uring_active(ofs->uring))
		st->flags |= ERROVL_STATUS_URING;
	if (!vol)
		return;
	st->flags |= ERROVL_STATUS_UPPER;
	st->error_count = atomic_load(&vol->error_count);
	st->first_errno = atomic_load(&vol->first_errno);
	st->first_error_ns = atomic_load(&vol->first_error_ns);
	st->last_errno = atomic_load(&vol->last_errno);
	st->last_error_ns = atomic_load(&vol->last_error_ns);
	st->mount_time_ns = vol->mount_time_ns;
	memcpy(st->instance, ofs->upper_err.instance, sizeof(st->instance));
	r = ovl_sync_status(ofs);
	if (r < 0) {
		st->state = ERROVL_STATE_INCONSISTENT;
		st->error = -r;
	} else if (st->error_count) {
		/* Non-volatile: errors were reported, the state is a record. */
		st->state = ERROVL_STATE_INCONSISTENT;
	}
}

static int ovl_ioctl_fault(struct ovl_fs *ofs, const void *in_buf,
			   size_t in_bufsz)
{
	struct errovl_fault f;

	if (!ofs->fault)
		return -ENOTTY;
	if (in_bufsz != sizeof(f))
		return -EINVAL;
	memcpy(&f, in_buf, sizeof(f));
	if (f.version != ERROVL_FAULT_VERSION)
		return -EINVAL;
	return ovl_fault_arm(ofs, f.site, f.error, f.count);
}

/*
 * Apply a file attribute ioctl to the real object of @ino: @set copies
 * it up first. @buf holds @size bytes in and out.
 */
static int ovl_ioctl_fileattr(fuse_req_t req, fuse_ino_t ino, unsigned int cmd,
			      bool set, void *buf, size_t size)
{
	struct ovl_fs *ofs = fuse_req_userdata(req);
	struct ovl_node *node = ovl_node(req, ino);
	struct ovl_real real;
	int fd, r;

	if (!node)
		return -EIO;
	if (set) {
		r = ovl_copy_up(ofs, node, true);
		if (r < 0)
			return r;
	}
	r = ovl_real_get(ofs, node, true, &real);
	if (r < 0)
		return r;
	/* O_NONBLOCK: a fifo must not block the open. */
	fd = ovl_real_open(&real, O_RDONLY | O_NONBLOCK);
	ovl_real_put(ofs, &real);
	if (fd < 0)
		return fd;
	r = ioctl(fd, cmd, buf) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* Size the kernel passes for a file attribute ioctl, or 0 if not one. */
static size_t ovl_ioctl_fileattr_size(unsigned int cmd, bool *ret_set)
{
	switch (cmd) {
	case FS_IOC_GETFLAGS:
	case FS_IOC_SETFLAGS:
		*ret_set = cmd == FS_IOC_SETFLAGS;
		return sizeof(unsigned int);
	case FS_IOC_FSGETXATTR:
	case FS_IOC_FSSETXATTR:
		*ret_set = cmd == FS_IOC_FSSETXATTR;
		return sizeof(struct fsxattr);
	default:
		return 0;
	}
}

/**
 * ovl_op_ioctl - FUSE ioctl handler: the errovl control interface
 * @req: the request, replied to exactly once
 * @ino: inode the ioctl was issued on (any inode of the mount)
 * @cmd: ERROVL_IOC_* command
 * @arg: user-space address (unused: restricted ioctls only)
 * @fi: open handle of the file or directory
 * @flags: FUSE_IOCTL_* flags
 * @in_buf: data copied in by the kernel (_IOW)
 * @in_bufsz: its size
 * @out_bufsz: size the kernel copies out (_IOR)
 *
 * Unknown commands, 32-bit compat callers and size mismatches get
 * ENOTTY / ENOSYS / EINVAL. File attribute ioctls are forwarded to the
 * real object (see the top of this file).
 */
void ovl_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		  struct fuse_file_info *fi, unsigned int flags,
		  const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct ovl_fs *ofs = fuse_req_userdata(req);
	union {
		unsigned int flags;
		struct fsxattr fsx;
	} attr;
	struct errovl_status st;
	size_t size;
	bool set;
	int r;

	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	size = ovl_ioctl_fileattr_size(cmd, &set);
	if (size) {
		/* FS_IOC_*FLAGS are _IOR/_IOW of long, but carry an int. */
		if ((set ? in_bufsz : out_bufsz) < size) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		memset(&attr, 0, sizeof(attr));
		if (set)
			memcpy(&attr, in_buf, size);
		r = ovl_ioctl_fileattr(req, ino, cmd, set, &attr, size);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_ioctl(req, 0, set ? NULL : &attr,
					 set ? 0 : size);
		return;
	}
	switch (cmd) {
	case ERROVL_IOC_STATUS:
		if (out_bufsz != sizeof(st)) {
			r = -EINVAL;
			break;
		}
		ovl_ioctl_status(ofs, &st);
		fuse_reply_ioctl(req, 0, &st, sizeof(st));
		return;
	case ERROVL_IOC_SYNC:
		r = ovl_ioctl_sync(ofs, fi);
		break;
	case ERROVL_IOC_FAULT:
		r = ovl_ioctl_fault(ofs, in_buf, in_bufsz);
		break;
	default:
		r = -ENOTTY;
		break;
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_ioctl(req, 0, NULL, 0);
}
