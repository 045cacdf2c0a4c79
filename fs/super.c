// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mount setup and teardown: opening the layers, the workdir layout and
 * its lock, FUSE capability negotiation, and the fuse_lowlevel_ops
 * table (at the bottom).
 *
 * WORKDIR layout:
 *   work/           temp objects of copy-up, create and remove; emptied
 *                   at every mount except work/incompat/, which holds
 *                   markers (volatile mode) and is never touched here.
 *   errovl/         errovl's private state (0700): "lock", and the
 *                   checkpoint of volatile mode.
 *   errovl/lock     flock(LOCK_EX) by the daemon for its whole life;
 *                   content "<pid> <state> <mountpoint>\n" with state
 *                   "mounted" or "finalizing". A second daemon on the
 *                   same workdir fails at once, unless the holder is
 *                   finalizing (unmounted, writing its last checkpoint):
 *                   then it waits up to 60 s for it.
 *   index/          kernel overlayfs index=on; errovl refuses to mount
 *                   when it is not empty.
 *
 * st_ino: when all layers share one st_dev the real numbers are unique
 * and shown unchanged; otherwise the layer index is stored above
 * xino_shift (see ovl_compose_ino()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "ovl.h"

#define OVL_LOCK_WAIT_MS 60000
#define OVL_LOCK_POLL_MS 100

static int ovl_open_dir(const char *path, int *ret_fd)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

/**
 * ovl_lock_set_state - rewrite the workdir lock file
 * @ofs: the mount, holding the lock
 * @state: "mounted" or "finalizing"
 *
 * Return: 0 or -errno.
 */
int ovl_lock_set_state(struct ovl_fs *ofs, const char *state)
{
	char *s;
	int n, r = 0;

	if (ofs->lock_fd < 0)
		return 0;
	n = asprintf(&s, "%d %s %s\n", (int)getpid(), state,
		     ofs->config.mountpoint);
	if (n < 0)
		return -ENOMEM;
	if (ftruncate(ofs->lock_fd, 0) < 0 ||
	    pwrite(ofs->lock_fd, s, n, 0) != n)
		r = -errno;
	free(s);
	return r;
}

/**
 * ovl_lock_release - drop the workdir lock
 * @ofs: the mount
 */
void ovl_lock_release(struct ovl_fs *ofs)
{
	if (ofs->lock_fd >= 0) {
		(void)ftruncate(ofs->lock_fd, 0);
		close(ofs->lock_fd);
		ofs->lock_fd = -1;
	}
}

/* Reads "<pid> <state> <mountpoint>" of the holder; best effort. */
static void ovl_lock_read(int fd, int *pid, char state[32], char mnt[4096])
{
	char buf[4200];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	*pid = 0;
	state[0] = mnt[0] = '\0';
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (sscanf(buf, "%d %31s %4095[^\n]", pid, state, mnt) < 2)
		*pid = 0;
}

static int ovl_lock_acquire(struct ovl_fs *ofs)
{
	char state[32], mnt[4096];
	bool logged = false;
	int fd, pid, waited = 0;

	fd = openat(ofs->state_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int r = -errno;

		ovl_log(LOG_ERR, "cannot open %s/errovl/lock: %s",
			ofs->config.workdir, strerror(-r));
		return r;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		struct timespec ts = {0, OVL_LOCK_POLL_MS * 1000000L};

		if (r != -EWOULDBLOCK) {
			ovl_log(LOG_ERR, "cannot lock %s/errovl/lock: %s",
				ofs->config.workdir, strerror(-r));
			close(fd);
			return r;
		}
		ovl_lock_read(fd, &pid, state, mnt);
		if (strcmp(state, "finalizing") || waited >= OVL_LOCK_WAIT_MS) {
			ovl_log(LOG_ERR,
				"workdir %s is in use by errovl pid %d "
				"(mounted on %s)",
				ofs->config.workdir, pid, mnt[0] ? mnt : "?");
			close(fd);
			return -EBUSY;
		}
		if (!logged) {
			ovl_log(LOG_NOTICE,
				"waiting for errovl pid %d to finish "
				"unmounting %s",
				pid, ofs->config.workdir);
			logged = true;
		}
		nanosleep(&ts, NULL);
		waited += OVL_LOCK_POLL_MS;
	}
	ofs->lock_fd = fd;
	return ovl_lock_set_state(ofs, "mounted");
}

/* Empties work/ of temp objects, keeping incompat/. */
static int ovl_clean_work(struct ovl_fs *ofs)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	r = ovl_opendir_at(ofs->work_fd, ".", &d);
	if (r < 0) {
		ovl_log(LOG_ERR, "cannot open %s/work: %s%s",
			ofs->config.workdir, strerror(-r),
			r == -EACCES ? " (made by a privileged mount? "
				       "chmod it 0700)"
				     : "");
		return r;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, "incompat"))
			continue;
		r = ovl_rm_tree_at(dirfd(d), de->d_name);
		if (r < 0) {
			ovl_log(LOG_ERR, "cannot clean %s/work/%s: %s",
				ofs->config.workdir, de->d_name, strerror(-r));
			break;
		}
	}
	closedir(d);
	return r;
}

/* Refuses a workdir whose index/ is in use (kernel index=on). */
static int ovl_check_index(struct ovl_fs *ofs)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	r = ovl_opendir_at(ofs->workdir_fd, "index", &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		ovl_log(LOG_ERR, "cannot open %s/index: %s",
			ofs->config.workdir, strerror(-r));
		return r;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			ovl_log(LOG_ERR,
				"%s/index is not empty: this upper was used "
				"with overlayfs index=on, which errovl does "
				"not support",
				ofs->config.workdir);
			r = -EINVAL;
			break;
		}
	}
	closedir(d);
	return r;
}

static int ovl_setup_upper(struct ovl_fs *ofs)
{
	struct ovl_config *c = &ofs->config;
	int r;

	r = ovl_open_dir(c->upperdir, &ofs->upper_fd);
	if (r == 0)
		r = ovl_open_dir(c->workdir, &ofs->workdir_fd);
	if (r < 0) {
		ovl_log(LOG_ERR, "cannot open upperdir/workdir: %s",
			strerror(-r));
		return r;
	}
	/*
	 * Mode 0, as the kernel creates it: only root looks inside. An
	 * unprivileged daemon (userxattr) needs to enter it itself.
	 */
	if ((mkdirat(ofs->workdir_fd, "work", geteuid() ? 0700 : 0) < 0 &&
	     errno != EEXIST) ||
	    (mkdirat(ofs->workdir_fd, "errovl", 0700) < 0 && errno != EEXIST)) {
		r = -errno;
		ovl_log(LOG_ERR, "cannot create directories in workdir %s: %s",
			c->workdir, strerror(-r));
		return r;
	}
	ofs->work_fd = openat(ofs->workdir_fd, "work",
			      O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	ofs->state_fd = openat(ofs->workdir_fd, "errovl",
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ofs->work_fd < 0 || ofs->state_fd < 0) {
		r = -errno;
		ovl_log(LOG_ERR, "cannot open %s/work or %s/errovl: %s",
			c->workdir, c->workdir, strerror(-r));
		return r;
	}
	r = ovl_lock_acquire(ofs);
	if (r < 0)
		return r;
	r = ovl_check_index(ofs);
	if (r < 0)
		return r;
	return ovl_clean_work(ofs);
}

/**
 * ovl_super_setup - open the layers, lock and clean the workdir
 * @ofs: the mount, config validated; every fd field -1
 *
 * Logs the reason of a failure once.
 *
 * Return: 0 or -errno.
 */
int ovl_super_setup(struct ovl_fs *ofs)
{
	struct ovl_config *c = &ofs->config;
	struct stat st;
	dev_t dev = 0;
	unsigned int bits = 0;
	int r;

	ofs->xattr_prefix = c->userxattr ? "user.overlay." : "trusted.overlay.";
	ofs->nr_layers = c->nr_lower + 1;
	while ((1u << bits) < ofs->nr_layers)
		bits++;
	ofs->xino_shift = 64 - bits;
	ofs->samefs = true;
	ofs->lower_fds = calloc(c->nr_lower, sizeof(int));
	if (!ofs->lower_fds)
		return -ENOMEM;
	for (unsigned int i = 0; i < c->nr_lower; i++)
		ofs->lower_fds[i] = -1;
	for (unsigned int i = 0; i < c->nr_lower; i++) {
		r = ovl_open_dir(c->lowerdirs[i], &ofs->lower_fds[i]);
		if (r == 0 && fstat(ofs->lower_fds[i], &st) < 0)
			r = -errno;
		if (r < 0) {
			ovl_log(LOG_ERR, "cannot open lowerdir %s: %s",
				c->lowerdirs[i], strerror(-r));
			return r;
		}
		if (i && st.st_dev != dev)
			ofs->samefs = false;
		dev = st.st_dev;
	}
	r = ovl_export_setup(ofs);
	if (r < 0)
		return r;
	if (c->upperdir) {
		r = ovl_setup_upper(ofs);
		if (r < 0)
			return r;
		if (fstat(ofs->upper_fd, &st) < 0)
			return -errno;
		if (st.st_dev != dev)
			ofs->samefs = false;
	}
	ovl_dbg(ofs, "%u lower layers, %s, xino %s", c->nr_lower,
		ofs->samefs ? "one filesystem" : "several filesystems",
		c->xino ? "on" : "off");
	r = ovl_nodes_init(ofs);
	if (r < 0)
		ovl_log(LOG_ERR, "cannot set up the root: %s", strerror(-r));
	return r;
}

/**
 * ovl_super_free - close every fd and free every node
 * @ofs: the mount, session ended; the lock is released separately
 */
void ovl_super_free(struct ovl_fs *ofs)
{
	/* Files still open when a signal ended the daemon. */
	while (ofs->handles)
		ovl_op_releasedir_handle(ofs, ofs->handles);
	ovl_nodes_free(ofs);
	ovl_export_free(ofs);
	for (unsigned int i = 0; ofs->lower_fds && i < ofs->config.nr_lower;
	     i++)
		if (ofs->lower_fds[i] >= 0)
			close(ofs->lower_fds[i]);
	free(ofs->lower_fds);
	ofs->lower_fds = NULL;
	if (ofs->upper_fd >= 0)
		close(ofs->upper_fd);
	if (ofs->work_fd >= 0)
		close(ofs->work_fd);
	if (ofs->workdir_fd >= 0)
		close(ofs->workdir_fd);
	if (ofs->state_fd >= 0)
		close(ofs->state_fd);
	ofs->upper_fd = ofs->work_fd = ofs->workdir_fd = ofs->state_fd = -1;
}

/**
 * ovl_super_mounted - note the device of the new mount for its readahead
 * @ofs: the mount, mounted but its INIT not yet answered
 *
 * With AT_STATX_DONT_SYNC and no attributes asked for, the kernel
 * answers from the inode it has: no request reaches the daemon, which
 * is not reading any yet.
 */
void ovl_super_mounted(struct ovl_fs *ofs)
{
	struct statx stx;

	if (!ofs->config.readahead_kib)
		return;
	if (statx(AT_FDCWD, ofs->config.mountpoint,
		  AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT, 0, &stx) < 0) {
		ovl_dbg(ofs, "statx of the mount point: %s", strerror(errno));
		return;
	}
	/*
	 * Only the root of a mount on an anonymous device (FUSE's) is
	 * ours: a mount over "/" or one stacked on top meanwhile is not.
	 */
	if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) &&
	    stx.stx_dev_major == 0)
		ofs->mnt_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	else
		ovl_dbg(ofs, "mount point %s: not the new mount's root",
			ofs->config.mountpoint);
}

/**
 * ovl_super_readahead - set the readahead window of the mount
 * @ofs: the mount, its INIT answered
 *
 * A FUSE mount starts with the kernel's default window, 128 KiB, which
 * the INIT can only lower: a sequential read of a lower file then costs
 * a READ round trip per 128 KiB. Its backing device info in sysfs takes
 * a larger one (-o readahead=, default 1 MiB, what one READ can carry).
 * Needs root; a failure leaves the kernel's window and is logged when
 * readahead= was given.
 */
void ovl_super_readahead(struct ovl_fs *ofs)
{
	char p[64], v[16];
	int fd, n, r = 0;
	ssize_t w;

	if (!ofs->mnt_dev)
		return; /* readahead=0, or the mount's device is unknown */
	snprintf(p, sizeof(p), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major(ofs->mnt_dev), minor(ofs->mnt_dev));
	n = snprintf(v, sizeof(v), "%u", ofs->config.readahead_kib);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
	} else {
		w = write(fd, v, (size_t)n);
		r = w == n ? 0 : w < 0 ? errno : EIO;
		close(fd);
	}
	if (r && ofs->config.readahead_set)
		ovl_log(LOG_WARNING, "cannot set readahead through %s: %s", p,
			strerror(r));
	else if (r)
		ovl_dbg(ofs, "readahead through %s: %s", p, strerror(r));
}

static void ovl_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ovl_fs *ofs = userdata;
	/*
	 * No FUSE_CAP_SPLICE_READ: the request loop reads flags from every
	 * request's arguments (loop.c), and splicing large writes in
	 * measured no faster.
	 */
	unsigned int want = FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
			    FUSE_CAP_READDIRPLUS | FUSE_CAP_ATOMIC_O_TRUNC |
			    FUSE_CAP_IOCTL_DIR | FUSE_CAP_CACHE_SYMLINKS |
			    FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_ASYNC_READ;

	ovl_passthrough_init(ofs); /* may turn the writeback cache off */
	if (ofs->config.writeback)
		want |= FUSE_CAP_WRITEBACK_CACHE;
	/* libfuse insists that init() repeats the max_read mount option. */
	if (ofs->config.max_read)
		conn->max_read = ofs->config.max_read;
	conn->want |= want & conn->capable;
	/*
	 * Always READDIRPLUS: with _AUTO the kernel lists large directories
	 * with plain READDIR after the first buffer and then sends one
	 * LOOKUP per entry.
	 */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/*
	 * POSIX ACLs: the kernel enforces them (reading system.posix_acl_*
	 * through getxattr) and leaves the umask to errovl, which applies
	 * it unless the parent has a default ACL (dir.c). Without the
	 * capability the kernel applies the umask and checks mode bits.
	 */
	if (!ofs->config.noacl && (conn->capable & FUSE_CAP_POSIX_ACL) &&
	    (conn->capable & FUSE_CAP_DONT_MASK))
		conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
	else
		conn->want &= ~(FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK);
	if (ofs->config.writeback &&
	    !(conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		ovl_log(LOG_WARNING, "kernel lacks the FUSE writeback cache");
}

const struct fuse_lowlevel_ops ovl_ops = {
	.init = ovl_op_init,
	.lookup = ovl_op_lookup,
	.forget = ovl_op_forget,
	.forget_multi = ovl_op_forget_multi,
	.getattr = ovl_op_getattr,
	.setattr = ovl_op_setattr,
	.readlink = ovl_op_readlink,
	.mknod = ovl_op_mknod,
	.mkdir = ovl_op_mkdir,
	.unlink = ovl_op_unlink,
	.rmdir = ovl_op_rmdir,
	.symlink = ovl_op_symlink,
	.rename = ovl_op_rename,
	.link = ovl_op_link,
	.open = ovl_op_open,
	.read = ovl_op_read,
	.write_buf = ovl_op_write_buf,
	.release = ovl_op_release,
	.fsync = ovl_op_fsync,
	.opendir = ovl_op_opendir,
	.readdir = ovl_op_readdir,
	.readdirplus = ovl_op_readdirplus,
	.releasedir = ovl_op_releasedir,
	.fsyncdir = ovl_op_fsyncdir,
	.statfs = ovl_op_statfs,
	.setxattr = ovl_op_setxattr,
	.getxattr = ovl_op_getxattr,
	.listxattr = ovl_op_listxattr,
	.removexattr = ovl_op_removexattr,
	.create = ovl_op_create,
	.fallocate = ovl_op_fallocate,
	.lseek = ovl_op_lseek,
	.ioctl = ovl_op_ioctl,
};
