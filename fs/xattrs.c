// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes on the top-most real object.
 *
 * get and list read the top-most real object; set and remove copy it
 * up first, except that removing an xattr a lower object does not have
 * fails with ENODATA without a copy-up, like the kernel.
 *
 * Private names follow kernel overlayfs (6.7+): in the mount's own
 * namespace (trusted.overlay., or user.overlay. with userxattr) the
 * markers on disk are never shown, and what applications store as
 * "<ns>X" is kept on disk escaped as "<ns>overlay.X" (so an overlay
 * can live on an overlay); list shows it back as "<ns>X". Reading an
 * unescaped marker through the mount thus gives ENODATA. The
 * user.fuseoverlayfs.* markers are hidden as well; setting them is
 * EOPNOTSUPP, since they would change how fuse-overlayfs reads the
 * upper.
 *
 * Real objects are reached through /proc/self/fd/N of their O_PATH fd;
 * the magic link resolves to the object itself, symlinks included.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ovl.h"

static bool ovl_xattr_is_fofs(const char *name)
{
	return !strncmp(name, "user.fuseoverlayfs.", 19);
}

/* An O_PATH fd of the top-most (or, with @upper, the upper) object. */
static int ovl_xattr_fd(struct ovl_fs *ofs, struct ovl_node *node, bool upper)
{
	struct ovl_real real;
	int fd;

	fd = ovl_real_get(ofs, node, true, &real);
	if (fd < 0)
		return fd;
	fd = upper && real.layer ? -EIO : ovl_real_open(&real, O_PATH);
	ovl_real_put(ofs, &real);
	return fd;
}

/**
 * ovl_op_getxattr - FUSE getxattr: read an xattr
 * @req: the request
 * @ino: node id of the object
 * @name: entry name
 * @size: size the kernel asked for
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     size_t size)
{
	struct ovl_node *node = ovl_node(req, ino);
	struct ovl_fs *ofs = ovl_fs(req);
	char p[OVL_PROC_PATH_MAX], real[OVL_XATTR_NAME_MAX], *buf = NULL;
	/* Asked before every write: answered from the node when known. */
	bool caps = !strcmp(name, "security.capability");
	int fd = -1;
	ssize_t n;

	if (ovl_xattr_is_fofs(name) ||
	    (caps && __atomic_load_n(&node->no_caps, __ATOMIC_ACQUIRE))) {
		n = -ENODATA;
		goto out_reply;
	}
	n = ovl_xattr_escape(ofs, name, real);
	if (n < 0)
		goto out_reply;
	if (size) {
		buf = malloc(size);
		if (!buf) {
			n = -ENOMEM;
			goto out_reply;
		}
	}
	fd = ovl_xattr_fd(ofs, node, false);
	if (fd < 0) {
		n = fd;
		goto out_reply;
	}
	n = getxattr(ovl_proc_path(p, fd), real, buf, size);
	if (n < 0)
		n = -errno;
	close(fd);
	/* A layer without ACL support has no ACL, as the kernel says. */
	if (n == -EOPNOTSUPP && !strncmp(name, "system.posix_acl_", 17))
		n = -ENODATA;
	if (caps && n == -ENODATA)
		__atomic_store_n(&node->no_caps, 1, __ATOMIC_RELEASE);
out_reply:
	ovl_dbg(ofs, "getxattr(%lu, %s, %zu) = %zd", (unsigned long)ino, name,
		size, n);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (!size)
		fuse_reply_xattr(req, n);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

/*
 * Turns a real listxattr result into the shown one, in place: private
 * names go, escaped ones lose their "overlay." (shorter, so it fits).
 * Returns the new length.
 */
static size_t ovl_xattr_filter(struct ovl_fs *ofs, char *list, size_t len)
{
	size_t pl = strlen(ofs->xattr_prefix);
	char *in = list, *out = list;

	while (in < list + len) {
		size_t l = strnlen(in, list + len - in) + 1;

		if (!ovl_xattr_is_private(ofs, in)) {
			if (!strncmp(in, ofs->xattr_prefix, pl)) {
				/* "<ns>overlay.X" is shown as "<ns>X". */
				memmove(out, in, pl);
				memmove(out + pl, in + pl + 8, l - pl - 8);
				out += l - 8;
			} else {
				memmove(out, in, l);
				out += l;
			}
		}
		in += l;
	}
	return out - list;
}

/**
 * ovl_op_listxattr - FUSE listxattr: list xattrs
 * @req: the request
 * @ino: node id of the object
 * @size: size the kernel asked for
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ovl_fs *ofs = ovl_fs(req);
	char p[OVL_PROC_PATH_MAX], *buf = NULL;
	int fd = ovl_xattr_fd(ofs, ovl_node(req, ino), false);
	ssize_t n;

	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	ovl_proc_path(p, fd);
	/* The shown list is never longer: size it on the real one. */
	for (;;) {
		n = listxattr(p, NULL, 0);
		if (n < 0) {
			n = -errno;
			break;
		}
		free(buf);
		buf = malloc(n ? n : 1);
		if (!buf) {
			n = -ENOMEM;
			break;
		}
		n = listxattr(p, buf, n);
		if (n >= 0)
			break;
		if (errno != ERANGE) {
			n = -errno;
			break;
		}
	}
	close(fd);
	if (n > 0)
		n = ovl_xattr_filter(ofs, buf, n);
	if (n >= 0 && size && (size_t)n > size)
		n = -ERANGE;
	ovl_dbg(ofs, "listxattr(%lu, %zu) = %zd", (unsigned long)ino, size, n);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (!size)
		fuse_reply_xattr(req, n);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static int ovl_do_setxattr(struct ovl_fs *ofs, struct ovl_node *node,
			   const char *name, const char *value, size_t size,
			   int flags, bool remove)
{
	char p[OVL_PROC_PATH_MAX], real[OVL_XATTR_NAME_MAX];
	int fd, r;

	if (ovl_xattr_is_fofs(name))
		return remove ? -ENODATA : -EOPNOTSUPP;
	r = ovl_xattr_escape(ofs, name, real);
	if (r < 0)
		return r;
	if (remove && !ovl_node_has_upper(node)) {
		fd = ovl_xattr_fd(ofs, node, false);
		if (fd < 0)
			return fd;
		r = getxattr(ovl_proc_path(p, fd), real, NULL, 0) < 0 ? -errno
								      : 0;
		close(fd);
		if (r < 0)
			return r;
	}
	r = ovl_copy_up(ofs, node, true);
	if (r < 0)
		return r;
	__atomic_store_n(&node->no_caps, 0, __ATOMIC_RELEASE);
	fd = ovl_xattr_fd(ofs, node, true);
	if (fd < 0)
		return fd;
	ovl_proc_path(p, fd);
	if (remove)
		r = removexattr(p, real);
	else
		r = setxattr(p, real, value, size, flags);
	r = r < 0 ? -errno : 0;
	close(fd);
	/* An access ACL changes the mode: drop the kernel's cached one. */
	if (r == 0 && !strncmp(name, "system.posix_acl_", 17))
		ovl_node_inval_attr(ofs, node);
	return r;
}

/**
 * ovl_op_setxattr - FUSE setxattr: set an xattr (copies up first)
 * @req: the request
 * @ino: node id of the object
 * @name: entry name
 * @value: xattr value
 * @size: size the kernel asked for
 * @flags: flags from the kernel
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     const char *value, size_t size, int flags)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int r;

	r = ovl_do_setxattr(ofs, ovl_node(req, ino), name, value, size, flags,
			    false);
	ovl_dbg(ofs, "setxattr(%lu, %s, %zu, %#x) = %d", (unsigned long)ino,
		name, size, flags, r);
	fuse_reply_err(req, -r);
}

/**
 * ovl_op_removexattr - FUSE removexattr: remove an xattr (copies up first)
 * @req: the request
 * @ino: node id of the object
 * @name: entry name
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int r;

	r = ovl_do_setxattr(ofs, ovl_node(req, ino), name, NULL, 0, 0, true);
	ovl_dbg(ofs, "removexattr(%lu, %s) = %d", (unsigned long)ino, name, r);
	fuse_reply_err(req, -r);
}
