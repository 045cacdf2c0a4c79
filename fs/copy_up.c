// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Copy-up: give a lower object an upper copy before it is modified.
 *
 * The copy is built under a unique temp name in WORKDIR/work/ (same
 * filesystem as the upper), complete with data, owner, mode, times and
 * xattrs (minus the private overlay ones), fsync'ed unless the mount is
 * volatile, then renamed into the upper parent in one step. A crash
 * leaves at most a temp object in work/, which the next mount removes;
 * the upper never holds a torn file.
 *
 * Data is cloned (FICLONE) when the filesystem can, else copied with
 * copy_file_range() (read/write as a fallback): a file whose blocks
 * cover its size as one range, others over their data extents only
 * (SEEK_DATA/SEEK_HOLE), so sparse files stay sparse.
 *
 * Parents are copied up first, recursively (directories are copied
 * without their contents, which stay merged from below). Each node's
 * lock serialises its copy-up; ofs->rename_lock is held for reading so
 * the parent chain cannot move meanwhile. Only one node lock is held at
 * a time: a parent is done before its child's lock is taken.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ovl.h"

#define OVL_COPY_CHUNK (1 << 20)

/**
 * ovl_copy_up_xattrs - copy every public xattr of @src_fd to @dst_fd
 * @ofs: the mount
 * @src_fd: fd of the source object (O_PATH, or open for reading)
 * @dst_fd: O_PATH fd of the destination object
 *
 * Private overlay xattrs are never copied. A destination that does not
 * support a namespace (EOPNOTSUPP) is skipped, like the kernel does.
 *
 * Return: 0 or -errno.
 */
int ovl_copy_up_xattrs(struct ovl_fs *ofs, int src_fd, int dst_fd)
{
	char sp[OVL_PROC_PATH_MAX], dp[OVL_PROC_PATH_MAX];
	char *list = NULL, *val = NULL;
	ssize_t len, vlen;
	int r = 0;

	ovl_proc_path(sp, src_fd);
	ovl_proc_path(dp, dst_fd);
	len = listxattr(sp, NULL, 0);
	if (len <= 0)
		return (len < 0 && errno != EOPNOTSUPP) ? -errno : 0;
	list = malloc(len);
	if (!list)
		return -ENOMEM;
	len = listxattr(sp, list, len);
	if (len < 0) {
		r = -errno;
		goto out_free;
	}
	for (char *name = list; name < list + len; name += strlen(name) + 1) {
		if (ovl_xattr_is_private(ofs, name))
			continue;
		vlen = getxattr(sp, name, NULL, 0);
		if (vlen < 0) {
			if (errno == ENODATA)
				continue;
			r = -errno;
			break;
		}
		free(val);
		val = malloc(vlen ? vlen : 1);
		if (!val) {
			r = -ENOMEM;
			break;
		}
		vlen = getxattr(sp, name, val, vlen);
		if (vlen < 0) {
			r = -errno;
			break;
		}
		if (setxattr(dp, name, val, vlen, 0) < 0 &&
		    errno != EOPNOTSUPP) {
			r = -errno;
			break;
		}
	}
out_free:
	free(val);
	free(list);
	return r;
}

/*
 * Copies [off, end) with copy_file_range, falling back to read/write
 * through *@buf (allocated on first use; the caller frees it). Returns
 * the offset reached (short of @end if the source shrank) or -errno.
 */
static off_t ovl_copy_range(int src, int dst, off_t off, off_t end, char **buf)
{
	bool fallback = false;

	while (off < end) {
		size_t want = end - off > OVL_COPY_CHUNK ? OVL_COPY_CHUNK
							 : (size_t)(end - off);
		ssize_t n;

		if (!fallback) {
			loff_t in = off, out = off;

			n = copy_file_range(src, &in, dst, &out, want, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL ||
				      errno == ENOSYS || errno == EOPNOTSUPP)) {
				fallback = true;
				continue;
			}
		} else {
			if (!*buf)
				*buf = malloc(OVL_COPY_CHUNK);
			if (!*buf)
				return -ENOMEM;
			n = pread(src, *buf, want, off);
			if (n > 0) {
				ssize_t w = pwrite(dst, *buf, n, off);

				if (w < 0)
					return -errno;
				n = w;
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break; /* the source shrank */
		off += n;
	}
	return off;
}

/*
 * The next data extent [*@data, *@hole) of @src at or after @off, up to
 * @size. Returns false when only a hole is left. Without SEEK_DATA,
 * everything left is data.
 */
static bool ovl_copy_extent(int src, off_t off, off_t size, off_t *data,
			    off_t *hole)
{
	*data = lseek(src, off, SEEK_DATA);
	if (*data < 0) {
		if (errno == ENXIO)
			return false;
		*data = off;
		*hole = size;
		return true;
	}
	*hole = lseek(src, *data, SEEK_HOLE);
	if (*hole < 0 || *hole > size)
		*hole = size;
	return true;
}

/*
 * Copies @size bytes of @src to the empty or sparse @dst: a clone where
 * the filesystem can (tried until the upper says it cannot clone at
 * all), else the data extents only, so sparse files stay sparse.
 * @dense: @src has no holes (its blocks cover its size): one range, no
 * extent lookups.
 */
static int ovl_copy_data(struct ovl_fs *ofs, int src, int dst, off_t size,
			 bool dense)
{
	off_t off = 0, data, hole, r;
	char *buf = NULL;

	r = ovl_fault(ofs, OVL_FAULT_COPY_UP);
	if (r < 0)
		return (int)r;
	if (size == 0)
		return 0;
	if (!__atomic_load_n(&ofs->no_clone, __ATOMIC_RELAXED)) {
		if (ioctl(dst, FICLONE, src) == 0)
			return 0;
		/*
		 * Only the upper's refusal holds for every copy: EXDEV
		 * concerns one lower layer, EINVAL one file.
		 */
		if (errno == EOPNOTSUPP || errno == ENOTTY)
			__atomic_store_n(&ofs->no_clone, true,
					 __ATOMIC_RELAXED);
	}
	if (dense) {
		r = ovl_copy_range(src, dst, 0, size, &buf);
		free(buf);
		if (r < 0)
			return (int)r;
		/* A source that shrank: the size still is @size. */
		return r < size && ftruncate(dst, size) < 0 ? -errno : 0;
	}
	while (off < size && ovl_copy_extent(src, off, size, &data, &hole)) {
		r = ovl_copy_range(src, dst, data, hole, &buf);
		if (r < 0)
			break;
		off = r < hole ? size : hole; /* shrank: only a hole is left */
	}
	free(buf);
	if (r < 0)
		return (int)r;
	/* Sets the size, trailing hole included. */
	return ftruncate(dst, size) < 0 ? -errno : 0;
}

/* Copies the @size bytes of a metacopy @node's lower data to @dst. */
static int ovl_copy_lower_data(struct ovl_fs *ofs, struct ovl_node *node,
			       int dst, off_t size)
{
	int sfd = ovl_node_open_data(node, O_RDONLY), r;

	if (sfd < 0)
		return sfd;
	r = ovl_copy_data(ofs, sfd, dst, size, false);
	close(sfd);
	return r;
}

/* One copy-up in progress (ovl_copy_up_one()). */
struct ovl_copy {
	int src; /* the lower object: O_RDONLY for file data, else O_PATH */
	struct stat st; /* its attributes */
	char tmp[64]; /* the copy's temp name in work/ */
	int tmp_fd; /* the copy, open for writing (regular files), or -1 */
};

/*
 * Creates the temp copy c->tmp of c->src in work/, with the data (if
 * @data) of c->src, or of the lower data file of a metacopy @node.
 */
static int ovl_copy_up_create(struct ovl_fs *ofs, struct ovl_node *node,
			      struct ovl_copy *c, bool data)
{
	const struct stat *st = &c->st;
	char target[PATH_MAX + 1];
	ssize_t n;

	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		return mkdirat(ofs->work_fd, c->tmp, 0700) < 0 ? -errno : 0;
	case S_IFLNK:
		n = readlinkat(c->src, "", target, sizeof(target));
		if (n < 0)
			return -errno;
		if ((size_t)n >= sizeof(target))
			return -ENAMETOOLONG;
		target[n] = '\0';
		return symlinkat(target, ofs->work_fd, c->tmp) < 0 ? -errno : 0;
	case S_IFREG:
		break;
	default:
		return mknodat(ofs->work_fd, c->tmp, st->st_mode & S_IFMT,
			       st->st_rdev) < 0
			       ? -errno
			       : 0;
	}
	c->tmp_fd = openat(ofs->work_fd, c->tmp,
			   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (c->tmp_fd < 0)
		return -errno;
	if (!data)
		return 0;
	if (node->metacopy && st->st_size)
		return ovl_copy_lower_data(ofs, node, c->tmp_fd, st->st_size);
	return ovl_copy_data(ofs, c->src, c->tmp_fd, st->st_size,
			     st->st_blocks * 512 >= st->st_size);
}

/*
 * Gives the temp copy the owner, xattrs, origin (export.c; in the
 * upper directory @parent_ufd), mode and times of c->src (layer
 * @layer).
 */
static int ovl_copy_up_attrs(struct ovl_fs *ofs, struct ovl_copy *c,
			     unsigned int layer, int parent_ufd)
{
	struct timespec tv[2] = {c->st.st_atim, c->st.st_mtim};
	int fd = c->tmp_fd, r = 0;

	if (fd < 0)
		fd = openat(ofs->work_fd, c->tmp,
			    O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/*
	 * Owner first: chown(2) from userspace drops security.capability,
	 * which the xattr copy then restores.
	 */
	if (fchownat(fd, "", c->st.st_uid, c->st.st_gid,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0)
		r = ovl_copy_up_xattrs(ofs, c->src, fd);
	if (r == 0)
		r = ovl_origin_set(ofs, c->src, layer, fd, parent_ufd);
	if (fd != c->tmp_fd)
		close(fd);
	if (r < 0)
		return r;
	/* After chown, which clears set-id bits; ACL masks follow the mode. */
	if (!S_ISLNK(c->st.st_mode) &&
	    fchmodat(ofs->work_fd, c->tmp, c->st.st_mode & 07777, 0) < 0)
		return -errno;
	if (utimensat(ofs->work_fd, c->tmp, tv, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Opens the lower non-directory @name of @parent to copy it up. */
static int ovl_copy_up_src(struct ovl_node *node, struct ovl_node *parent,
			   const char *name, bool data)
{
	/* O_NONBLOCK: a lower fifo met by a race must not block. */
	int flags = S_ISREG(node->type) && data && !node->metacopy
			    ? O_RDONLY | O_NONBLOCK
			    : O_PATH;
	int fd;

	if (node->lower_slot >= parent->nr_lower)
		return -EIO;
	fd = openat(parent->lower[node->lower_slot].fd, name,
		    flags | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Copies @node up into @parent's upper directory as @name. Caller holds
 * node->lock and ofs->rename_lock for reading.
 */
static int ovl_copy_up_one(struct ovl_fs *ofs, struct ovl_node *node,
			   struct ovl_node *parent, const char *name, bool data)
{
	struct ovl_copy c = {.tmp_fd = -1};
	int parent_ufd = ovl_node_upper(parent), fd = -1, r;
	bool dir = S_ISDIR(node->type);

	c.src = dir ? node->lower[0].fd
		    : ovl_copy_up_src(node, parent, name, data);
	if (c.src < 0)
		return c.src;
	r = fstatat(c.src, "", &c.st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0
		    ? -errno
		    : 0;
	if (r < 0)
		goto out_close;
	ovl_tmpname(ofs, c.tmp, sizeof(c.tmp));
	r = ovl_copy_up_create(ofs, node, &c, data);
	if (r == 0)
		r = ovl_copy_up_attrs(ofs, &c, node->lower[0].layer,
				      parent_ufd);
	/* Data and attributes are durable before the name appears. */
	if (r == 0 && c.tmp_fd >= 0 && !ofs->config.ovl_volatile &&
	    fsync(c.tmp_fd) < 0)
		r = -errno;
	if (r == 0 && renameat2(ofs->work_fd, c.tmp, parent_ufd, name,
				RENAME_NOREPLACE) < 0)
		r = -errno;
	if (r < 0) {
		/* Best effort: the next mount cleans work/ anyway. */
		(void)ovl_rm_tree_at(ofs->work_fd, c.tmp);
		ovl_dbg(ofs, "copy-up of %s failed: %d", name, r);
		if (r == -EEXIST)
			r = -EIO;
		goto out_close;
	}
	if (dir) {
		fd = openat(parent_ufd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			goto out_close;
		}
		node->upper_fd = fd;
	}
	/* A copy of a lower metacopy file has its data. */
	__atomic_store_n(&node->metacopy, false, __ATOMIC_RELEASE);
	__atomic_store_n(&node->upper, true, __ATOMIC_RELEASE);
out_close:
	if (c.tmp_fd >= 0)
		close(c.tmp_fd);
	if (!dir)
		close(c.src);
	return r;
}

/* Copies the lower data of @node into the open upper file @ufd. */
static int ovl_copy_up_fill_data(struct ovl_fs *ofs, struct ovl_node *node,
				 int ufd, const struct stat *st)
{
	struct timespec tv[2] = {st->st_atim, st->st_mtim};
	char caps[256];
	ssize_t ncaps;
	struct stat now;
	int r;

	/* Writing drops security.capability (and set-id bits for some). */
	ncaps = fgetxattr(ufd, "security.capability", caps, sizeof(caps));
	r = ovl_copy_lower_data(ofs, node, ufd, st->st_size);
	if (r == 0 && ncaps > 0 &&
	    fsetxattr(ufd, "security.capability", caps, ncaps, 0) < 0)
		r = -errno;
	if (r == 0 && fstat(ufd, &now) < 0)
		r = -errno;
	if (r == 0 && now.st_mode != st->st_mode &&
	    fchmod(ufd, st->st_mode & 07777) < 0)
		r = -errno;
	if (r == 0 && futimens(ufd, tv) < 0)
		r = -errno;
	return r;
}

/*
 * Gives the upper metacopy file of @node its data, in place (the
 * kernel's way): the data is copied from the lower data file and made
 * durable, and only then the metacopy mark goes, so a crash leaves a
 * metacopy file that still reads the lower data. Owner, mode, times
 * and xattrs stay those of the upper file. @data false: the file is
 * about to be truncated to zero, so it is emptied instead. Caller
 * holds ofs->rename_lock for reading.
 */
static int ovl_copy_up_fill(struct ovl_fs *ofs, struct ovl_node *node,
			    bool data)
{
	struct ovl_real real;
	char x[64];
	struct stat st;
	int ufd, r;

	pthread_mutex_lock(&node->lock);
	if (!node->metacopy) {
		pthread_mutex_unlock(&node->lock);
		return 0;
	}
	r = ovl_real_get(ofs, node, false, &real);
	ufd = r < 0 ? r : real.layer ? -EIO : ovl_real_open(&real, O_WRONLY);
	ovl_real_put(ofs, &real);
	r = ufd < 0 ? ufd : 0;
	if (r == 0 && fstat(ufd, &st) < 0)
		r = -errno;
	if (r == 0 && !data && ftruncate(ufd, 0) < 0)
		r = -errno;
	if (r == 0 && data && st.st_size)
		r = ovl_copy_up_fill_data(ofs, node, ufd, &st);
	if (r == 0 && !ofs->config.ovl_volatile && fsync(ufd) < 0)
		r = -errno;
	snprintf(x, sizeof(x), "%smetacopy", ofs->xattr_prefix);
	if (r == 0 && fremovexattr(ufd, x) < 0 && errno != ENODATA)
		r = -errno;
	if (r == 0)
		__atomic_store_n(&node->metacopy, false, __ATOMIC_RELEASE);
	else
		ovl_log(LOG_ERR,
			"cannot copy the data of a metacopy file up: %s",
			strerror(-r));
	if (ufd >= 0)
		close(ufd);
	pthread_mutex_unlock(&node->lock);
	return r;
}

/* Caller holds ofs->rename_lock for reading. */
static int ovl_copy_up_locked(struct ovl_fs *ofs, struct ovl_node *node,
			      bool data)
{
	struct ovl_node *parent;
	char *name;
	int r;

	if (ovl_node_has_upper(node))
		return ovl_copy_up_fill(ofs, node, data);
	if (node == ofs->root || !node->nr_lower)
		return -EIO;
	/* Its name is gone: nothing to copy it up to. */
	if (__atomic_load_n(&node->pin_fd, __ATOMIC_ACQUIRE) >= 0)
		return -ENOENT;
	name = ovl_node_name(ofs, node, &parent);
	if (!name)
		return -ENOMEM;
	r = ovl_copy_up_locked(ofs, parent, true);
	if (r == 0) {
		pthread_mutex_lock(&node->lock);
		/* Pinned while we waited: its name is going (unlink, rename). */
		if (node->pin_fd >= 0)
			r = -ENOENT;
		else if (!ovl_node_has_upper(node))
			r = ovl_copy_up_one(ofs, node, parent, name, data);
		pthread_mutex_unlock(&node->lock);
	}
	ovl_node_put(ofs, parent);
	free(name);
	return r;
}

/**
 * ovl_copy_up - make sure @node has an upper object
 * @ofs: the mount
 * @node: the node
 * @data: copy the file data (false when it is about to be truncated
 *        to zero)
 *
 * Context: takes ofs->rename_lock for reading and node locks; the
 * caller must hold none of them.
 * Return: 0, -EROFS without an upper layer, or -errno.
 */
int ovl_copy_up(struct ovl_fs *ofs, struct ovl_node *node, bool data)
{
	int r;

	if (ovl_node_has_upperdata(node))
		return 0;
	if (ofs->upper_fd < 0)
		return -EROFS;
	pthread_rwlock_rdlock(&ofs->rename_lock);
	r = ovl_copy_up_locked(ofs, node, data);
	pthread_rwlock_unlock(&ofs->rename_lock);
	/*
	 * A copy without an origin to show has its own st_ino: drop the
	 * kernel's cached attributes so stat agrees with readdir.
	 * Attributes only (offset -1): no page or inode lock is taken, so
	 * this is safe inside a request. With an origin the number stays.
	 */
	if (r == 0 && !S_ISDIR(node->type) && !node->origin_ino)
		ovl_node_inval_attr(ofs, node);
	return r;
}
