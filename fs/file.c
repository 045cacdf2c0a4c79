// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Open files: open, read, write, release, fsync, fallocate, lseek.
 * There is no flush handler: before FLUSH the kernel writes dirty pages
 * back and reports writeback errors on close() itself, so a FLUSH
 * round trip per close would add nothing (without the handler the
 * kernel stops sending it). SEEK_DATA/SEEK_HOLE are answered from the
 * real file only where no page the kernel holds dirty can be missing
 * from it (ovl_op_lseek()).
 *
 * fi->fh points to a struct ovl_handle (ovl_entry.h) whose first member
 * is the errseq_t cursor ioctl.c uses; directories use the same struct.
 * A file opened for reading from a lower layer is read in place (no
 * copy); opening for writing (or with O_TRUNC) copies it up first, and
 * from then on reads through older read-only handles are served from
 * the upper copy too (ovl_read_fd()), so every handle sees the writes.
 *
 * Upper files mostly pass through (passthrough.c): the kernel reads and
 * writes them without asking. With the writeback cache (mounts without
 * passthrough) the kernel may read through a descriptor
 * the application opened write-only, and it implements O_APPEND itself
 * from its cached size; so upper files are opened O_RDWR and without
 * O_APPEND then. Volatile mounts strip O_SYNC/O_DSYNC: no sync reaches
 * the upper. Data written back from the page cache (fi->writepage) is
 * not seen by any application call, so its failure is recorded with
 * ovl_upper_error() and surfaces through fsync and the control ioctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ovl.h"

/**
 * ovl_handle_new - a handle for fi->fh on @node
 * @ofs: the mount
 * @node: the opened node; gets a reference
 *
 * Return: the handle (fd -1), or NULL when out of memory.
 */
struct ovl_handle *ovl_handle_new(struct ovl_fs *ofs, struct ovl_node *node)
{
	struct ovl_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->sb_cursor = errseq_sample(&ofs->sb_err);
	h->node = node;
	h->fd = -1;
	h->stale_fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	ovl_node_get(ofs, node);
	pthread_mutex_lock(&ofs->handles_lock);
	h->next = ofs->handles;
	if (h->next)
		h->next->prev = h;
	ofs->handles = h;
	pthread_mutex_unlock(&ofs->handles_lock);
	return h;
}

/**
 * ovl_handle_free - close and free a handle from ovl_handle_new()
 * @ofs: the mount
 * @h: the handle
 */
void ovl_handle_free(struct ovl_fs *ofs, struct ovl_handle *h)
{
	pthread_mutex_lock(&ofs->handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		ofs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&ofs->handles_lock);
	ovl_passthrough_release(ofs, h);
	if (h->fd >= 0)
		close(h->fd);
	if (h->stale_fd >= 0)
		close(h->stale_fd);
	pthread_mutex_destroy(&h->lock);
	ovl_node_put(ofs, h->node);
	free(h);
}

/**
 * ovl_open_flags - the flags to open a real file with
 * @ofs: the mount
 * @flags: the application's open flags
 *
 * Return: the flags for open() of the real file.
 */
int ovl_open_flags(struct ovl_fs *ofs, int flags)
{
	/* The object is resolved already: O_NOFOLLOW would hit /proc's link. */
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_NOFOLLOW);
	/*
	 * FUSE already bypasses the page cache for O_DIRECT opens; the
	 * data of a WRITE sits unaligned in libfuse's buffer, which the
	 * real O_DIRECT file would refuse (EINVAL).
	 */
	flags &= ~O_DIRECT;
	if (ofs->config.writeback) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	if (ofs->config.ovl_volatile)
		flags &= ~(O_SYNC | O_DSYNC);
	return flags | O_CLOEXEC;
}

/*
 * Opens the top-most real object of @node for @fi (the upper one once
 * copied up), sets *@layer and *@st. Returns the fd or -errno.
 */
static int ovl_open_real(struct ovl_fs *ofs, struct ovl_node *node,
			 const struct fuse_file_info *fi, unsigned int *layer,
			 struct stat *st)
{
	struct ovl_real real;
	int fd, oflags, r;

	for (int tries = 0;; tries++) {
		r = ovl_real_get(ofs, node, true, &real);
		if (r < 0)
			return r;
		/* O_NONBLOCK: a whiteout or fifo met by a race must not block. */
		oflags = ovl_open_flags(ofs, fi->flags) |
			 (real.name[0] ? O_NONBLOCK : 0);
		fd = ovl_real_open(&real, oflags);
		/*
		 * An append-only (chattr +a) file opens for writing only
		 * with O_APPEND, which the writeback cache strips: restore
		 * it when the application asked for it. The kernel places
		 * those writes at the end of the file anyway.
		 */
		if (fd == -EPERM && (fi->flags & O_APPEND) &&
		    !(oflags & O_APPEND)) {
			oflags |= O_APPEND;
			fd = ovl_real_open(&real, oflags);
		}
		*layer = real.layer;
		ovl_real_put(ofs, &real);
		if (fd >= 0 && fstat(fd, st) == 0 &&
		    (st->st_mode & S_IFMT) == node->type) {
			/* The status flags it was opened with, but blocking. */
			if ((oflags & O_NONBLOCK) && !(fi->flags & O_NONBLOCK))
				(void)fcntl(fd, F_SETFL,
					    oflags & (O_APPEND | O_DIRECT |
						      O_NOATIME));
			return fd;
		}
		/*
		 * The name went to another object meanwhile (unlink and
		 * create racing this open): use the pin if the node got
		 * one, else the object is gone.
		 */
		if (fd >= 0)
			close(fd);
		else if (fd != -ENXIO && fd != -ENOENT)
			return fd;
		if (tries ||
		    __atomic_load_n(&node->pin_fd, __ATOMIC_ACQUIRE) < 0)
			return -ENOENT;
	}
}

/*
 * Opens the lower data file of a metacopy @node for reading; the
 * handle moves to the upper file once that has the data.
 */
static int ovl_open_data(struct ovl_fs *ofs, struct ovl_node *node,
			 const struct fuse_file_info *fi, unsigned int *layer,
			 struct stat *st)
{
	int fd = ovl_node_open_data(node, ovl_open_flags(ofs, fi->flags));

	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0) {
		close(fd);
		return -errno;
	}
	*layer = node->data_layer;
	return fd;
}

static int ovl_do_open(struct ovl_fs *ofs, struct ovl_node *node,
		       struct fuse_file_info *fi)
{
	bool write =
		(fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	struct ovl_handle *h;
	unsigned int layer = 0; /* both open helpers set it; for the compiler */
	struct stat st;
	int fd, r;

	if (S_ISDIR(node->type))
		return -EISDIR;
	if (write) {
		r = ovl_copy_up(ofs, node, !(fi->flags & O_TRUNC));
		if (r < 0)
			return r;
	}
	if (!write && __atomic_load_n(&node->metacopy, __ATOMIC_ACQUIRE))
		fd = ovl_open_data(ofs, node, fi, &layer, &st);
	else
		fd = ovl_open_real(ofs, node, fi, &layer, &st);
	if (fd < 0)
		return fd;
	if ((fi->flags & O_TRUNC) && write) {
		r = ftruncate(fd, 0) < 0 ? -errno : ovl_kill_suidgid(fd);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	h = ovl_handle_new(ofs, node);
	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	h->fd = fd;
	h->upper = layer == 0;
	fi->fh = (uint64_t)(uintptr_t)h;
	/* Only this daemon changes the layers: cached pages stay valid. */
	fi->keep_cache = !(fi->flags & O_TRUNC);
	ovl_passthrough_open(ofs, h, fi, st.st_mode);
	return 0;
}

/**
 * ovl_op_open - FUSE open: open a file, copying up for writing
 * @req: the request
 * @ino: node id of the object
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int r;

	r = ovl_do_open(ofs, ovl_node(req, ino), fi);
	ovl_dbg(ofs, "open(%lu, %#o) = %d", (unsigned long)ino, fi->flags, r);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_open(req, fi) == -ENOENT)
		/* The opener was interrupted: nobody will release it. */
		ovl_handle_free(ofs, (struct ovl_handle *)(uintptr_t)fi->fh);
}

static struct ovl_handle *ovl_fh(struct fuse_file_info *fi)
{
	return (struct ovl_handle *)(uintptr_t)fi->fh;
}

/*
 * The fd to read through: a handle opened on a lower file reads the
 * upper copy once there is one, so it sees what was written through
 * other handles (as kernel overlayfs does).
 */
static int ovl_read_fd(struct ovl_fs *ofs, struct ovl_handle *h)
{
	struct ovl_real real;
	int fd;

	if (__atomic_load_n(&h->upper, __ATOMIC_ACQUIRE) ||
	    !ovl_node_has_upperdata(h->node))
		return __atomic_load_n(&h->fd, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&h->lock);
	if (!h->upper && ovl_real_get(ofs, h->node, true, &real) == 0) {
		fd = real.layer == 0 ? ovl_real_open(&real, O_RDONLY) : -EIO;
		ovl_real_put(ofs, &real);
		if (fd >= 0) {
			h->stale_fd = h->fd;
			__atomic_store_n(&h->fd, fd, __ATOMIC_RELEASE);
			__atomic_store_n(&h->upper, true, __ATOMIC_RELEASE);
		}
	}
	fd = h->fd;
	pthread_mutex_unlock(&h->lock);
	return fd;
}

/**
 * ovl_op_read - FUSE read: read through the real file (spliced)
 * @req: the request
 * @ino: node id of the object
 * @size: size the kernel asked for
 * @off: offset to start at
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	ssize_t n;
	void *p;

	ovl_dbg(ofs, "read(%lu, %zu, %lld)", (unsigned long)ino, size,
		(long long)off);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = ovl_read_fd(ofs, ovl_fh(fi));
	buf.buf[0].pos = off;
	/*
	 * From a ring entry (uring.c): read into it, no copy in the reply;
	 * no room there (the kernel sends no larger read) is an error.
	 */
	p = ovl_uring_payload(size);
	if (p) {
		n = pread(buf.buf[0].fd, p, size, off);
		if (n < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_buf(req, p, (size_t)n);
	} else if (ovl_uring_payload(0)) {
		fuse_reply_err(req, EIO);
	} else {
		fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
	}
}

/**
 * ovl_op_write_buf - FUSE write_buf: write to the upper file
 * @req: the request
 * @ino: node id of the object
 * @in: data to write
 * @off: offset to start at
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		      off_t off, struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct ovl_handle *h = ovl_fh(fi);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	ssize_t r;

	r = h->upper ? ovl_fault(ofs, OVL_FAULT_WRITE) : -EBADF;
	if (r == 0) {
		out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		out.buf[0].fd = h->fd;
		out.buf[0].pos = off;
		r = fuse_buf_copy(&out, in, 0);
	}
	/* The data is written: a failure here is logged, not returned. */
	if (r >= 0 && ovl_kill_suidgid(h->fd) < 0)
		ovl_log(LOG_WARNING, "cannot clear the set-id bits of a file "
				     "written by an unprivileged process");
	ovl_dbg(ofs, "write(%lu, %zu, %lld%s) = %zd", (unsigned long)ino,
		fuse_buf_size(in), (long long)off,
		fi->writepage ? ", writeback" : "", r);
	if (r < 0) {
		if (fi->writepage)
			ovl_upper_error(ofs, (int)r, "writeback");
		fuse_reply_err(req, (int)-r);
		return;
	}
	fuse_reply_write(req, (size_t)r);
}

/**
 * ovl_op_release - FUSE release: last close of an open file
 * @req: the request
 * @ino: node id of the object
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);

	ovl_dbg(ofs, "release(%lu)", (unsigned long)ino);
	ovl_handle_free(ofs, ovl_fh(fi));
	fuse_reply_err(req, 0);
}

/**
 * ovl_do_fsync - fsync or fdatasync an open real file
 * @ofs: the mount
 * @h: the handle
 * @datasync: data only
 *
 * A file read from a lower layer has nothing to sync. Volatile mounts
 * never sync the upper; see ovl_sync_status().
 *
 * Return: 0 or -errno.
 */
static int ovl_do_fsync(struct ovl_fs *ofs, struct ovl_handle *h, int datasync)
{
	int r;

	/* 1: not volatile, do a real sync; 0: volatile and clean; <0: error */
	r = ovl_sync_status(ofs);
	if (r <= 0)
		return r;
	r = ovl_fault(ofs, OVL_FAULT_FSYNC);
	if (r < 0)
		return r;
	if (!h->upper || h->fd < 0)
		return 0;
	r = datasync ? fdatasync(h->fd) : fsync(h->fd);
	return r < 0 ? -errno : 0;
}

/**
 * ovl_op_fsync - FUSE fsync: fsync or fdatasync (volatile rules)
 * @req: the request
 * @ino: node id of the object
 * @datasync: sync data only
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int r;

	r = ovl_do_fsync(ofs, ovl_fh(fi), datasync);
	ovl_dbg(ofs, "fsync(%lu, %d) = %d", (unsigned long)ino, datasync, r);
	fuse_reply_err(req, -r);
}

/**
 * ovl_op_fallocate - FUSE fallocate: allocate or punch space in the upper file
 * @req: the request
 * @ino: node id of the object
 * @mode: type and permission bits (umask applied by the kernel)
 * @offset: start of the range
 * @length: length of the range
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		      off_t length, struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct ovl_handle *h = ovl_fh(fi);
	int r;

	r = h->upper ? ovl_fault(ofs, OVL_FAULT_WRITE) : -EBADF;
	if (r == 0 && fallocate(h->fd, mode, offset, length) < 0)
		r = -errno;
	ovl_dbg(ofs, "fallocate(%lu, %#x, %lld, %lld) = %d", (unsigned long)ino,
		mode, (long long)offset, (long long)length, r);
	fuse_reply_err(req, -r);
}

/*
 * SEEK_DATA/SEEK_HOLE from @off. The kernel does not write dirty pages
 * back before it asks, so the real file's answer is only complete when
 * the FUSE page cache cannot hold data the file lacks: a lower file
 * (never written), or a node whose handles pass through (their writes
 * and mappings act on the upper file itself). Otherwise (cached upper
 * handles, whose shared mappings may be dirty) the answer is the
 * generic one: all data up to the end of the file.
 */
static off_t ovl_do_lseek(struct ovl_fs *ofs, struct ovl_handle *h, off_t off,
			  int whence)
{
	struct stat st;
	off_t r;
	int fd;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	fd = ovl_read_fd(ofs, h);
	if (!ovl_node_has_upperdata(h->node) || ovl_passthrough_node(h->node)) {
		r = lseek(fd, off, whence);
		return r < 0 ? -errno : r;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (off < 0)
		return -EINVAL;
	if (off >= st.st_size)
		return -ENXIO;
	return whence == SEEK_DATA ? off : st.st_size;
}

/**
 * ovl_op_lseek - FUSE lseek: SEEK_DATA and SEEK_HOLE
 * @req: the request
 * @ino: node id of the object
 * @off: offset to search from
 * @whence: SEEK_DATA or SEEK_HOLE
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * With the writeback cache (no passthrough) the upper file may lack
 * data the kernel holds dirty, so the first request is answered ENOSYS:
 * the kernel then answers every later one itself (all data).
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		  struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	off_t r = ofs->config.writeback
			  ? -ENOSYS
			  : ovl_do_lseek(ofs, ovl_fh(fi), off, whence);

	ovl_dbg(ofs, "lseek(%lu, %lld, %d) = %lld", (unsigned long)ino,
		(long long)off, whence, (long long)r);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_lseek(req, r);
}
