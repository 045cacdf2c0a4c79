// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Attributes: getattr, setattr (copy-up first), readlink, statfs.
 *
 * Attributes are those of the top-most real object, with st_ino
 * composed by ovl_compose_ino() so it matches readdir's d_ino. A merged
 * directory (real directories in more than one layer) reports
 * st_nlink 1, as kernel overlayfs does, since the real link counts
 * of its parts mean nothing for the merged view. st_dev is FUSE's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ovl.h"

/**
 * ovl_node_attr - turn the attributes of @node's top-most real object
 * into the merged ones
 * @ofs: the mount
 * @node: the node
 * @st: in: the real object's stat; out: what the mount shows
 * @layer: the layer @st comes from (0 = upper)
 */
void ovl_node_attr(struct ovl_fs *ofs, struct ovl_node *node, struct stat *st,
		   unsigned int layer)
{
	/*
	 * A copied-up object keeps the inode number of its lower origin,
	 * a merged directory that of its top-most lower part (the kernel's
	 * copy-up origin): copy-up must not change it.
	 */
	if (!S_ISDIR(node->type) && layer == 0 && node->origin_ino) {
		st->st_ino = node->origin_ino;
		layer = node->origin_layer;
	}
	st->st_ino = ovl_compose_ino(ofs, layer, st->st_ino);
	if (layer == 0)
		st->st_ino = ovl_node_lower_dino(ofs, node, st->st_ino);
	if (S_ISDIR(node->type) &&
	    node->nr_lower + (ovl_node_upper(node) >= 0) > 1)
		st->st_nlink = 1;
	/* A metacopy file: the blocks are those of its data (the kernel). */
	if (__atomic_load_n(&node->metacopy, __ATOMIC_ACQUIRE)) {
		struct stat dst;

		if (fstat(node->data_fd, &dst) == 0)
			st->st_blocks = dst.st_blocks;
	}
}

/*
 * The merged attributes of @node from its real object @real (from
 * ovl_real_get()); -ENOENT when the name now holds another object.
 */
static int ovl_real_stat(struct ovl_fs *ofs, struct ovl_node *node,
			 const struct ovl_real *real, struct stat *st)
{
	if (fstatat(real->dirfd, real->name, st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if ((st->st_mode & S_IFMT) != node->type)
		return -ENOENT;
	ovl_node_attr(ofs, node, st, real->layer);
	return 0;
}

/**
 * ovl_node_stat - the merged attributes of @node
 * @ofs: the mount
 * @node: the node
 * @st: output
 *
 * Return: 0 or -errno.
 */
int ovl_node_stat(struct ovl_fs *ofs, struct ovl_node *node, struct stat *st)
{
	struct ovl_real real;
	int r;

	for (int tries = 0;; tries++) {
		r = ovl_real_get(ofs, node, true, &real);
		if (r < 0)
			return r;
		r = ovl_real_stat(ofs, node, &real, st);
		ovl_real_put(ofs, &real);
		/*
		 * The name went to another object while this request ran
		 * (unlink + create racing a getattr). If the node got
		 * pinned meanwhile, its object is still there: retry once;
		 * else the object is gone, as for the kernel.
		 */
		if (r == 0 || tries > 0 || S_ISDIR(node->type) ||
		    __atomic_load_n(&node->pin_fd, __ATOMIC_ACQUIRE) < 0)
			return r;
	}
}

/**
 * ovl_op_getattr - FUSE getattr: report merged attributes
 * @req: the request
 * @ino: node id of the object
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct stat st;
	int r;

	r = ovl_node_stat(ofs, ovl_node(req, ino), &st);
	ovl_dbg(ofs, "getattr(%lu) = %d", (unsigned long)ino, r);
	ovl_attr_shown(ofs, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, ofs->config.timeout);
}

/**
 * ovl_kill_suidgid - clear the set-id bits the kernel asks to clear
 * @fd: an fd of the upper file (O_PATH too)
 *
 * The kernel flags a write, truncate or O_TRUNC open by a process
 * without CAP_FSETID when S_ISUID or S_ISGID must go
 * (ovl_req_kill_suidgid()); the daemon, which has CAP_FSETID, clears
 * them itself. S_ISUID always goes; S_ISGID goes with group exec, or
 * when it is the only set-id bit (then it alone raised the flag: the
 * writer is outside the group). Requests without the flag: nothing.
 *
 * Return: 0 or -errno.
 */
int ovl_kill_suidgid(int fd)
{
	struct stat st;
	mode_t m;

	if (!ovl_req_kill_suidgid())
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	m = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode) || !(m & (S_ISUID | S_ISGID)))
		return 0;
	if (!(m & S_ISUID) || (m & S_IXGRP))
		m &= ~(mode_t)S_ISGID;
	m &= ~(mode_t)S_ISUID;
	return ovl_chmod_at(fd, "", m);
}

/*
 * Truncates the upper file @real to @size through the open handle of
 * @fi when it has one, else through an fd of its own.
 */
static int ovl_do_truncate(const struct ovl_real *real,
			   struct fuse_file_info *fi, off_t size)
{
	struct ovl_handle *h =
		fi ? (struct ovl_handle *)(uintptr_t)fi->fh : NULL;
	int fd, r;

	if (h && h->upper && h->fd >= 0)
		fd = h->fd;
	else
		fd = ovl_real_open(real, O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	r = ftruncate(fd, size) < 0 ? -errno : ovl_kill_suidgid(fd);
	if (!h || fd != h->fd)
		close(fd);
	return r;
}

static int ovl_setattr_upper(struct ovl_fs *ofs, struct ovl_node *node,
			     const struct ovl_real *real, struct stat *attr,
			     int valid, struct fuse_file_info *fi);

static bool ovl_ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * Drops what would not change a lower-only object: with the writeback
 * cache the kernel pushes its cached times (unchanged ones too, and
 * ctime, which cannot be set) on close; that must not copy up a file
 * that was only read, nor fail for one unlinked meanwhile.
 */
static int ovl_setattr_effective(struct ovl_fs *ofs, struct ovl_node *node,
				 const struct stat *attr, int valid)
{
	struct stat st;

	valid &= FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
		 FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME |
		 FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
		 FUSE_SET_ATTR_MTIME_NOW;
	if (ovl_node_has_upper(node) || !valid)
		return valid;
	if (ovl_node_stat(ofs, node, &st) < 0)
		return valid;
	if ((valid & FUSE_SET_ATTR_ATIME) &&
	    !(valid & FUSE_SET_ATTR_ATIME_NOW) &&
	    ovl_ts_eq(&attr->st_atim, &st.st_atim))
		valid &= ~FUSE_SET_ATTR_ATIME;
	if ((valid & FUSE_SET_ATTR_MTIME) &&
	    !(valid & FUSE_SET_ATTR_MTIME_NOW) &&
	    ovl_ts_eq(&attr->st_mtim, &st.st_mtim))
		valid &= ~FUSE_SET_ATTR_MTIME;
	return valid;
}

/* Applies @valid of @attr to @node; @st gets the attributes after. */
static int ovl_do_setattr(struct ovl_fs *ofs, struct ovl_node *node,
			  struct stat *attr, int valid,
			  struct fuse_file_info *fi, struct stat *st)
{
	bool data = !(valid & FUSE_SET_ATTR_SIZE) || attr->st_size != 0;
	struct ovl_real real;
	int r;

	valid = ovl_setattr_effective(ofs, node, attr, valid);
	if (!valid)
		return ovl_node_stat(ofs, node, st);
	r = ovl_copy_up(ofs, node, data);
	if (r < 0)
		return r;
	r = ovl_real_get(ofs, node, true, &real);
	if (r < 0)
		return r;
	r = real.layer == 0
		    ? ovl_setattr_upper(ofs, node, &real, attr, valid, fi)
		    : -EIO;
	if (r == 0)
		r = ovl_real_stat(ofs, node, &real, st);
	ovl_real_put(ofs, &real);
	return r;
}

/*
 * Applies @valid of @attr to the upper object @real, by its name (no
 * fd to open and close for a chown or utimes: an untar sends three
 * such requests per file).
 */
static int ovl_setattr_upper(struct ovl_fs *ofs, struct ovl_node *node,
			     const struct ovl_real *real, struct stat *attr,
			     int valid, struct fuse_file_info *fi)
{
	int r;

	if (valid & FUSE_SET_ATTR_MODE) {
		if (S_ISLNK(node->type))
			return -EOPNOTSUPP;
		r = ovl_chmod_at(real->dirfd, real->name,
				 attr->st_mode & 07777);
		if (r < 0)
			return r;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		const struct ovl_config *c = &ofs->config;
		uid_t uid = (valid & FUSE_SET_ATTR_UID)
				    ? ovl_id_disk(&c->uidmap, attr->st_uid)
				    : (uid_t)-1;
		gid_t gid = (valid & FUSE_SET_ATTR_GID)
				    ? ovl_id_disk(&c->gidmap, attr->st_gid)
				    : (gid_t)-1;

		if (fchownat(real->dirfd, real->name, uid, gid,
			     real->name[0] ? AT_SYMLINK_NOFOLLOW
					   : AT_EMPTY_PATH) < 0)
			return -errno;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		if (!S_ISREG(node->type))
			return S_ISDIR(node->type) ? -EISDIR : -EINVAL;
		r = ovl_do_truncate(real, fi, attr->st_size);
		if (r < 0)
			return r;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2];

		tv[0].tv_sec = 0;
		tv[1].tv_sec = 0;
		tv[0].tv_nsec = UTIME_OMIT;
		tv[1].tv_nsec = UTIME_OMIT;
		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		r = ovl_utimens_at(real->dirfd, real->name, tv);
		if (r < 0)
			return r;
	}
	return 0;
}

/**
 * ovl_op_setattr - FUSE setattr: change attributes, copying up first
 * @req: the request
 * @ino: node id of the object
 * @attr: new attributes
 * @to_set: FUSE_SET_ATTR_* bits of @attr to apply
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct ovl_node *node = ovl_node(req, ino);
	struct stat st;
	int r;

	r = ovl_do_setattr(ofs, node, attr, to_set, fi, &st);
	ovl_dbg(ofs, "setattr(%lu, valid %#x) = %d", (unsigned long)ino, to_set,
		r);
	ovl_attr_shown(ofs, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, ofs->config.timeout);
}

/**
 * ovl_op_readlink - FUSE readlink: read a symlink
 * @req: the request
 * @ino: node id of the object
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct ovl_fs *ofs = ovl_fs(req);
	char buf[PATH_MAX + 1];
	struct ovl_real real;
	ssize_t n;

	n = ovl_real_get(ofs, ovl_node(req, ino), true, &real);
	if (n == 0) {
		n = readlinkat(real.dirfd, real.name, buf, sizeof(buf));
		if (n < 0)
			n = -errno;
		ovl_real_put(ofs, &real);
	} else if ((size_t)n >= sizeof(buf))
		n = -ENAMETOOLONG;
	ovl_dbg(ofs, "readlink(%lu) = %zd", (unsigned long)ino, n);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/**
 * ovl_op_statfs - FUSE statfs: report the upper (or top lower) filesystem
 * @req: the request
 * @ino: node id of the object
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int fd = ofs->upper_fd >= 0 ? ofs->upper_fd : ofs->lower_fds[0];
	struct statvfs sv;
	int r = 0;

	if (fstatvfs(fd, &sv) < 0)
		r = -errno;
	ovl_dbg(ofs, "statfs(%lu) = %d", (unsigned long)ino, r);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_statfs(req, &sv);
}
