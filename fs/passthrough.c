// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE passthrough: the kernel reads and writes upper files itself (and
 * reads the lower files of a read-only merge).
 *
 * Since Linux 6.9 (protocol 7.40) a daemon with CAP_SYS_ADMIN may
 * register an open file with the FUSE device (FUSE_DEV_IOC_BACKING_OPEN,
 * which returns a backing id) and answer an open with FOPEN_PASSTHROUGH
 * and that id. The kernel then opens the backing file's path itself,
 * with the application's open flags and the daemon's credentials, and
 * sends read, write, splice and mmap of that open file there: no
 * request reaches the daemon, the data never crosses /dev/fuse, and
 * O_APPEND, O_DIRECT and O_SYNC act on the upper file as they do under
 * kernel overlayfs. fsync, setattr, fallocate and lseek still come here.
 * libfuse 3.14 predates all of it; the request loop (loop.c) adds
 * FUSE_PASSTHROUGH to the INIT reply and ovl_passthrough_patch() adds
 * the backing id to open and create replies.
 *
 * Which opens pass through: those of regular files in the upper layer,
 * and on a mount without one (a read-only merge, where nothing is ever
 * copied up) those of lower files. Otherwise a handle on a lower file
 * stays with the daemon, which moves it to the upper copy after a
 * copy-up (file.c), as kernel overlayfs' read() follows it there; a
 * backing file cannot be moved.
 * Volatile mounts keep O_SYNC and O_DSYNC opens with the daemon, which
 * drops those flags (the kernel's volatile mode ignores them too). Files
 * with S_ISUID or S_ISGID stay with the daemon as well: the kernel
 * writes a backing file with the daemon's credentials, so its write
 * would not clear those bits, which the daemon does for an
 * unprivileged writer (FUSE_HANDLE_KILLPRIV_V2, loop.c). A file that
 * gains one while a handle passes through keeps it through writes of
 * that handle (docs/known-differences.md).
 *
 * The kernel's rules for the open files of one inode (fs/fuse/iomode.c):
 * while one passes through, every new open must pass through to the
 * same registration (one backing id), and while one uses the FUSE page
 * cache none may pass through; an open that breaks them fails with EIO.
 * So each node keeps one word, node->io, changed by compare-and-swap:
 * the number of open handles, whether they pass through, and their
 * backing id. A handle counts until its RELEASE, which the kernel sends
 * after it dropped the open's mode, so the daemon's view never lags the
 * kernel's. The registration is closed with the last handle (the kernel
 * keeps its own references while files use it).
 *
 * The FUSE writeback cache and passthrough exclude each other (the
 * kernel ignores passthrough when both are asked for), so a mount with
 * passthrough writes the remaining cached files through: a request per
 * write, for files held open from a lower layer while being written.
 *
 * A passthrough write bypasses the FUSE inode's page cache, so the
 * first cached open after passthrough ones drops that cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/capability.h>

#include "ovl.h"

/* From include/uapi/linux/fuse.h (7.40), which libfuse 3.14 predates. */
struct ovl_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define OVL_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct ovl_backing_map)
#define OVL_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
#define OVL_FOPEN_PASSTHROUGH (1u << 7)
/* struct fuse_open_out: fh (8), open_flags (4), backing_id (4) */
#define OVL_OPEN_OUT_SIZE 16
#define OVL_OPEN_OUT_FLAGS 8
#define OVL_OPEN_OUT_BACKING 12

/*
 * node->io: bits 0-29 the number of open handles, bit 30 set once a
 * handle passed through (cleared when a cached open drops the page
 * cache), bit 31 the handles pass through, bits 32-63 their backing id.
 */
#define OVL_IO_COUNT ((1ull << 30) - 1)
#define OVL_IO_PT_SINCE (1ull << 30)
#define OVL_IO_PT (1ull << 31)
#define OVL_IO_ID(s) ((int32_t)((s) >> 32))

/* The backing id for the next reply sent by this thread, or 0. */
static __thread int32_t ovl_pt_reply_id;

/* The registration ioctl wants CAP_SYS_ADMIN in the initial userns. */
static bool ovl_passthrough_capable(void)
{
	char ns[64];
	ssize_t n;

	if (!ovl_capable(CAP_SYS_ADMIN))
		return false;
	n = readlink("/proc/self/ns/user", ns, sizeof(ns) - 1);
	if (n < 0)
		return false;
	ns[n] = '\0';
	/* PROC_USER_INIT_INO: the initial user namespace */
	return !strcmp(ns, "user:[4026531837]");
}

/**
 * ovl_passthrough_init - choose FUSE passthrough while answering INIT
 * @ofs: the mount; ofs->init_flags holds what the kernel offered
 *
 * On when asked for (-o passthrough, the default), offered, and with
 * CAP_SYS_ADMIN. The writeback cache then goes: the kernel does not
 * combine the two.
 */
void ovl_passthrough_init(struct ovl_fs *ofs)
{
	if (!ofs->config.passthrough ||
	    !(ofs->init_flags & OVL_FUSE_PASSTHROUGH))
		return;
	ofs->passthrough = ovl_passthrough_capable();
	if (ofs->passthrough)
		ofs->config.writeback = false;
	else
		ovl_dbg(ofs, "no passthrough: needs CAP_SYS_ADMIN");
}

/*
 * Registers @fd (any open file of the real object) with the FUSE
 * device. Returns the backing id (> 0) or -errno.
 */
static int32_t ovl_backing_open(struct ovl_fs *ofs, int fd)
{
	struct ovl_backing_map map = {.fd = fd};
	int id =
		ioctl(fuse_session_fd(ofs->se), OVL_DEV_IOC_BACKING_OPEN, &map);

	if (id > 0)
		return id;
	id = id < 0 ? -errno : -EIO;
	if (!__atomic_exchange_n(&ofs->passthrough_warned, true,
				 __ATOMIC_RELAXED))
		ovl_log(LOG_WARNING,
			"cannot register a backing file for passthrough (%s); "
			"such files go through the daemon",
			strerror(-id));
	return id;
}

static void ovl_backing_close(struct ovl_fs *ofs, int32_t id)
{
	uint32_t v = (uint32_t)id;

	/* At teardown the session is gone, and with it every backing id. */
	if (!ofs->se)
		return;
	if (ioctl(fuse_session_fd(ofs->se), OVL_DEV_IOC_BACKING_CLOSE, &v) < 0)
		ovl_dbg(ofs, "cannot close backing id %d: %s", id,
			strerror(errno));
}

/*
 * Whether the open in @fi on @h, whose file has @mode, may pass through
 * when it opens the node's first handle.
 */
static bool ovl_passthrough_wanted(struct ovl_fs *ofs, struct ovl_handle *h,
				   const struct fuse_file_info *fi, mode_t mode)
{
	if (!ofs->passthrough || (!h->upper && ofs->upper_fd >= 0) ||
	    h->fd < 0 || (mode & (S_ISUID | S_ISGID)))
		return false;
	return !(ofs->config.ovl_volatile && (fi->flags & (O_SYNC | O_DSYNC)));
}

/**
 * ovl_passthrough_open - choose how the kernel does I/O on a new handle
 * @ofs: the mount
 * @h: the handle, with its fd open
 * @fi: the open being answered; keep_cache is set here
 * @mode: the file's mode when opened
 *
 * Counts @h in its node's I/O mode. When it passes through, the next
 * reply this thread sends (the open or create reply, which must follow
 * at once) carries the backing id. Call ovl_passthrough_release() from
 * the handle's release.
 */
void ovl_passthrough_open(struct ovl_fs *ofs, struct ovl_handle *h,
			  struct fuse_file_info *fi, mode_t mode)
{
	uint64_t *io = &h->node->io;
	uint64_t s = __atomic_load_n(io, __ATOMIC_ACQUIRE), n;
	int32_t mine = 0, id;
	bool keep;

	if (!S_ISREG(h->node->type))
		return;
	do {
		keep = fi->keep_cache;
		if (s & OVL_IO_COUNT) {
			/* Join the open handles' mode (and backing id). */
			id = s & OVL_IO_PT ? OVL_IO_ID(s) : 0;
			n = s + 1;
		} else {
			if (!mine && ovl_passthrough_wanted(ofs, h, fi, mode))
				mine = ovl_backing_open(ofs, h->fd);
			id = mine > 0 ? mine : 0;
			/*
			 * The first cached open after passthrough ones
			 * drops the page cache, which their writes passed.
			 */
			keep = keep && !(s & OVL_IO_PT_SINCE);
			n = id ? 1 | OVL_IO_PT | OVL_IO_PT_SINCE |
					    ((uint64_t)(uint32_t)id << 32)
			       : 1;
		}
	} while (!__atomic_compare_exchange_n(
		io, &s, n, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	if (mine > 0 && mine != id)
		ovl_backing_close(ofs, mine); /* another open won the race */
	h->io_counted = true;
	/* The kernel refuses FOPEN_KEEP_CACHE with passthrough. */
	fi->keep_cache = id ? 0 : keep;
	ovl_pt_reply_id = id;
}

/**
 * ovl_passthrough_release - uncount a handle from ovl_passthrough_open()
 * @ofs: the mount
 * @h: the handle being freed
 *
 * The last passthrough handle of a node closes its backing id.
 */
void ovl_passthrough_release(struct ovl_fs *ofs, struct ovl_handle *h)
{
	uint64_t *io = &h->node->io;
	uint64_t s = __atomic_load_n(io, __ATOMIC_ACQUIRE), n;

	if (!h->io_counted)
		return;
	do {
		n = s - 1;
		if (!(n & OVL_IO_COUNT))
			n &= OVL_IO_PT_SINCE; /* mode and id go */
	} while (!__atomic_compare_exchange_n(
		io, &s, n, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	h->io_counted = false;
	if (!(n & OVL_IO_COUNT) && (s & OVL_IO_PT))
		ovl_backing_close(ofs, OVL_IO_ID(s));
}

/**
 * ovl_passthrough_node - do the open handles of @node pass through?
 * @node: a regular file
 *
 * Return: true while they do (their writes and mappings then act on
 * the upper file itself, not on the FUSE page cache).
 */
bool ovl_passthrough_node(struct ovl_node *node)
{
	return __atomic_load_n(&node->io, __ATOMIC_ACQUIRE) & OVL_IO_PT;
}

/**
 * ovl_passthrough_patch - add the backing id to an open or create reply
 * @unique: the message's unique (0: a notification)
 * @error: the reply's error
 * @arg: the reply's argument as libfuse built it, in its own memory
 *
 * Called by the request loop for every message the thread sends; acts
 * on the first reply after ovl_passthrough_open() chose passthrough.
 * struct fuse_open_out ends both replies (create puts the entry first).
 */
void ovl_passthrough_patch(uint64_t unique, int32_t error,
			   const struct iovec *arg)
{
	int32_t id = ovl_pt_reply_id;
	uint32_t flags;
	char *p;

	if (!id || !unique)
		return;
	ovl_pt_reply_id = 0;
	if (error || arg->iov_len < OVL_OPEN_OUT_SIZE)
		return;
	p = (char *)arg->iov_base + arg->iov_len - OVL_OPEN_OUT_SIZE;
	memcpy(&flags, p + OVL_OPEN_OUT_FLAGS, sizeof(flags));
	flags |= OVL_FOPEN_PASSTHROUGH;
	memcpy(p + OVL_OPEN_OUT_FLAGS, &flags, sizeof(flags));
	memcpy(p + OVL_OPEN_OUT_BACKING, &id, sizeof(id));
}
