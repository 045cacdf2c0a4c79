// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes on the top-most real object.
 *
 * get and list read the top-most real object; set and remove copy it
 * up first, except that removing an xattr a lower object does not have
 * fails with ENODATA without a copy-up, like the kernel. The private
 * overlay xattrs (trusted.overlay.*, user.overlay.*, and
 * fuse-overlayfs's user.fuseoverlayfs.*) are never listed, read,
 * written or removed: those requests get EOPNOTSUPP, the kernel's
 * answer for its own namespace.
 *
 * Real objects are reached through /proc/self/fd/N of their O_PATH fd;
 * the magic link resolves to the object itself, symlinks included.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "ovl.h"

void ovl_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     size_t size)
{
	struct ovl_fs *ofs = ovl_fs(req);
	char p[OVL_PROC_PATH_MAX], *buf = NULL;
	unsigned int layer;
	ssize_t n;

	if (ovl_xattr_is_private(name)) {
		n = -EOPNOTSUPP;
		goto out_reply;
	}
	if (size) {
		buf = malloc(size);
		if (!buf) {
			n = -ENOMEM;
			goto out_reply;
		}
	}
	n = getxattr(
		ovl_proc_path(p, ovl_node_real(ovl_node(req, ino), &layer)),
		name, buf, size);
	if (n < 0)
		n = -errno;
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

/* Removes the private names from a listxattr result; returns new length. */
static size_t ovl_xattr_filter(char *list, size_t len)
{
	char *in = list, *out = list;

	while (in < list + len) {
		size_t l = strnlen(in, list + len - in) + 1;

		if (!ovl_xattr_is_private(in)) {
			memmove(out, in, l);
			out += l;
		}
		in += l;
	}
	return out - list;
}

void ovl_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ovl_fs *ofs = ovl_fs(req);
	char p[OVL_PROC_PATH_MAX], *buf = NULL;
	unsigned int layer;
	ssize_t n;

	ovl_proc_path(p, ovl_node_real(ovl_node(req, ino), &layer));
	/* The filtered list is shorter: size it on the real one. */
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
	if (n > 0)
		n = ovl_xattr_filter(buf, n);
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
	char p[OVL_PROC_PATH_MAX];
	unsigned int layer;
	int r;

	if (ovl_xattr_is_private(name))
		return -EOPNOTSUPP;
	if (remove && ovl_node_upper(node) < 0 &&
	    getxattr(ovl_proc_path(p, ovl_node_real(node, &layer)), name, NULL,
		     0) < 0)
		return -errno;
	r = ovl_copy_up(ofs, node, true);
	if (r < 0)
		return r;
	ovl_proc_path(p, ovl_node_upper(node));
	if (remove)
		r = removexattr(p, name);
	else
		r = setxattr(p, name, value, size, flags);
	return r < 0 ? -errno : 0;
}

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

void ovl_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int r;

	r = ovl_do_setxattr(ofs, ovl_node(req, ino), name, NULL, 0, 0, true);
	ovl_dbg(ofs, "removexattr(%lu, %s) = %d", (unsigned long)ino, name, r);
	fuse_reply_err(req, -r);
}
