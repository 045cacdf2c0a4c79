// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Namespace changes: create, mknod, mkdir, symlink, link, unlink,
 * rmdir, rename. Parents are copied up first.
 *
 * New objects get the requester's uid, the gid rule of a setgid parent
 * and the final mode:
 *  - no upper entry: created in place in the upper parent, as the
 *    kernel does;
 *  - an upper whiteout (0/0 char device) of a hidden lower name: the
 *    object is built in WORKDIR/work/ under a temp name, then
 *    a non-directory simply replaces it; a directory is exchanged
 *    with it (RENAME_EXCHANGE) and the whiteout, now in work/, is
 *    removed. Such a directory is marked opaque first (overlay.opaque
 *    = "y"), as the kernel does; rename below is the other place.
 *
 * Removal leaves a whiteout exactly when a lower layer still has the
 * name: an upper object is swapped for a whiteout built in work/
 * (RENAME_EXCHANGE), a lower-only one gets a whiteout made in place. A
 * directory is removed when its merged view is empty; the whiteouts it
 * still holds go with it.
 *
 * rename moves non-directories (copied up first) and directories. A
 * directory with lower parts is copied up (itself, not its content) and
 * records where those are in overlay.redirect, as the kernel does with
 * redirect_dir=on; without that option such a rename is EXDEV and tools
 * fall back to copying.
 *
 * The kernel serialises operations on one parent directory; rename
 * takes ofs->rename_lock for writing so no copy-up walks a parent chain
 * while it changes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ovl.h"

/* What the upper parent has under a name about to be created. */
enum ovl_slot {
	OVL_SLOT_FREE, /* nothing */
	OVL_SLOT_WHITEOUT, /* a 0/0 whiteout */
	OVL_SLOT_WH_FILE, /* a fuse-overlayfs ".wh.NAME" whiteout */
};

/* What to create. */
struct ovl_new {
	mode_t mode; /* type and permission bits */
	dev_t rdev;
	const char *link; /* symlink target */
	int link_fd; /* O_PATH fd to hard-link, or -1 */
	struct ovl_node *link_node; /* its node: a link answers with it */
	int open_flags; /* create: flags of the returned fd */
	bool tmpfile; /* an unnamed file (O_TMPFILE); @nm is the dir */
};

static int ovl_wh_file_name(char *buf, size_t len, const char *name)
{
	if (strlen(name) > NAME_MAX - 4)
		return -ENAMETOOLONG;
	snprintf(buf, len, ".wh.%s", name);
	return 0;
}

static int ovl_slot_probe(int pufd, const char *name, enum ovl_slot *ret)
{
	char wh[NAME_MAX + 8];
	struct stat st;

	if (fstatat(pufd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!ovl_is_whiteout(&st))
			return -EEXIST;
		*ret = OVL_SLOT_WHITEOUT;
		return 0;
	}
	if (errno != ENOENT)
		return -errno;
	*ret = OVL_SLOT_FREE;
	if (ovl_wh_file_name(wh, sizeof(wh), name) == 0 &&
	    fstatat(pufd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0)
		*ret = OVL_SLOT_WH_FILE;
	return 0;
}

static int ovl_set_opaque_at(struct ovl_fs *ofs, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = ovl_set_xattr(ofs, fd, "opaque", "y", 1);
	close(fd);
	return r;
}

/*
 * Builds @nw as @nm in @dirfd (the upper parent, or work/ for a temp
 * name), owned by the requester, with its final mode.
 */
static int ovl_new_at(struct ovl_fs *ofs, fuse_req_t req,
		      struct ovl_node *parent, const struct ovl_new *nw,
		      int dirfd, const char *nm, bool opaque, int *ret_fd)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	mode_t mode = nw->mode & 07777;
	struct stat pst;
	gid_t gid = ovl_id_disk(&ofs->config.gidmap, ctx->gid);
	uid_t uid = ovl_id_disk(&ofs->config.uidmap, ctx->uid);
	bool need_chown;
	int fd = -1, r;

	r = ovl_node_stat(ofs, parent, &pst);
	if (r < 0)
		return r;
	/*
	 * With POSIX ACLs the kernel leaves the umask to us: it applies
	 * unless the parent has a default ACL, which the filesystem then
	 * applies instead, for objects created in place. One built in
	 * work/ (over a whiteout) does not inherit it: umask it anyway.
	 */
	if (!S_ISLNK(nw->mode) &&
	    (dirfd == ofs->work_fd ||
	     ovl_getxattr_at(ovl_node_upper(parent), ".",
			     "system.posix_acl_default", NULL, 0) <= 0))
		mode &= ~(ctx->umask & 0777);
	if (pst.st_mode & S_ISGID) {
		gid = pst.st_gid;
		if (S_ISDIR(nw->mode))
			mode |= S_ISGID;
	}
	if (nw->link_fd >= 0) {
		/* A hard link keeps the owner and mode of its inode. */
		return linkat(nw->link_fd, "", dirfd, nm, AT_EMPTY_PATH) < 0
			       ? -errno
			       : 0;
	}
	/* The daemon's umask is 0: @mode is applied exactly. */
	switch (nw->mode & S_IFMT) {
	case S_IFDIR:
		r = mkdirat(dirfd, nm, mode);
		break;
	case S_IFLNK:
		r = symlinkat(nw->link, dirfd, nm);
		break;
	case S_IFREG:
		fd = openat(
			dirfd, nm,
			(nw->open_flags & ~(O_TRUNC | O_CREAT)) |
				(nw->tmpfile ? O_TMPFILE : O_CREAT | O_EXCL) |
				O_CLOEXEC,
			mode);
		r = fd < 0 ? -1 : 0;
		break;
	default:
		r = mknodat(dirfd, nm, (nw->mode & S_IFMT) | mode, nw->rdev);
		break;
	}
	if (r < 0)
		return -errno;
	/*
	 * The new object is the daemon's. In place under a parent of the
	 * daemon's group it is already a requester with the daemon's ids
	 * (root in a container build) whatever rule gave it its group
	 * (set-group-ID parent, grpid mount or not): no chown then.
	 */
	need_chown = dirfd == ofs->work_fd || uid != ofs->own_uid ||
		     gid != ofs->own_gid || pst.st_gid != ofs->own_gid;
	/* chown clears set-id bits (and mkdir ignores S_ISGID): set again. */
	if (nw->tmpfile) {
		if ((need_chown && fchown(fd, uid, gid) < 0) ||
		    ((mode & 07000) && fchmod(fd, mode) < 0)) {
			r = -errno;
			close(fd);
			return r; /* nothing to unlink: it has no name */
		}
	} else if ((need_chown &&
		    fchownat(dirfd, nm, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) ||
		   (!S_ISLNK(nw->mode) && (mode & 07000) &&
		    fchmodat(dirfd, nm, mode, 0) < 0)) {
		r = -errno;
		goto out_unlink;
	}
	if (opaque) {
		r = ovl_set_opaque_at(ofs, dirfd, nm);
		if (r < 0)
			goto out_unlink;
	}
	if (ret_fd)
		*ret_fd = fd;
	else if (fd >= 0)
		close(fd);
	return 0;

out_unlink:
	if (fd >= 0)
		close(fd);
	/* Best effort: a leftover in work/ goes at the next mount. */
	(void)unlinkat(dirfd, nm, S_ISDIR(nw->mode) ? AT_REMOVEDIR : 0);
	return r;
}

/* Moves the temp @tmp to (@pufd, @name) over what @slot says is there. */
static int ovl_new_place(struct ovl_fs *ofs, const char *tmp, int pufd,
			 const char *name, enum ovl_slot slot, bool dir)
{
	char wh[NAME_MAX + 8];

	if (slot == OVL_SLOT_WHITEOUT && dir) {
		if (renameat2(ofs->work_fd, tmp, pufd, name, RENAME_EXCHANGE) <
		    0)
			return -errno;
		/* The whiteout now sits in work/ under the temp name. */
		(void)unlinkat(ofs->work_fd, tmp, 0);
		return 0;
	}
	if (slot == OVL_SLOT_WHITEOUT) {
		if (renameat(ofs->work_fd, tmp, pufd, name) < 0)
			return -errno;
		return 0;
	}
	if (renameat2(ofs->work_fd, tmp, pufd, name, RENAME_NOREPLACE) < 0)
		return -errno;
	if (slot == OVL_SLOT_WH_FILE &&
	    ovl_wh_file_name(wh, sizeof(wh), name) == 0)
		/* Stale once the name exists again; harmless if it stays. */
		(void)unlinkat(pufd, wh, 0);
	return 0;
}

static int ovl_do_new(struct ovl_fs *ofs, fuse_req_t req,
		      struct ovl_node *parent, const char *name,
		      const struct ovl_new *nw, struct fuse_entry_param *e,
		      int *ret_fd)
{
	bool dir = S_ISDIR(nw->mode);
	enum ovl_slot slot;
	char tmp[64];
	int pufd, fd = -1, r;

	if (ovl_name_is_private(name))
		return -EINVAL;
	r = ovl_copy_up(ofs, parent, true);
	if (r < 0)
		return r;
	pufd = ovl_node_upper(parent);
	r = ovl_slot_probe(pufd, name, &slot);
	if (r < 0)
		return r;
	if (slot == OVL_SLOT_FREE) {
		/*
		 * Nothing to replace: create in place, like the kernel,
		 * which with redirect_dir=on also marks a directory made
		 * in a merged parent opaque (no lookup below it needed).
		 */
		r = ovl_new_at(ofs, req, parent, nw, pufd, name,
			       dir && parent->nr_lower &&
				       ofs->config.redirect == OVL_REDIRECT_ON,
			       ret_fd ? &fd : NULL);
		if (r < 0)
			return r;
	} else {
		ovl_tmpname(ofs, tmp, sizeof(tmp));
		r = ovl_new_at(ofs, req, parent, nw, ofs->work_fd, tmp, dir,
			       ret_fd ? &fd : NULL);
		if (r < 0)
			return r;
		r = ovl_new_place(ofs, tmp, pufd, name, slot, dir);
		if (r < 0) {
			(void)ovl_rm_tree_at(ofs->work_fd, tmp);
			goto out_close;
		}
	}
	if (nw->link_node)
		return ovl_node_entry(ofs, nw->link_node, e);
	r = ovl_node_install(ofs, parent, name, pufd, dir, e);
	if (r < 0)
		goto out_close;
	if (ret_fd)
		*ret_fd = fd;
	return 0;

out_close:
	if (fd >= 0)
		close(fd);
	return r;
}

static void ovl_reply_new(fuse_req_t req, const char *op, fuse_ino_t parent,
			  const char *name, int r, struct fuse_entry_param *e)
{
	ovl_dbg(ovl_fs(req), "%s(%lu, %s) = %d", op, (unsigned long)parent,
		name, r);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, e);
}

/**
 * ovl_op_mknod - FUSE mknod: create a device, fifo, socket or file
 * @req: the request
 * @parent: node id of the parent directory
 * @name: entry name
 * @mode: type and permission bits (umask applied by the kernel)
 * @rdev: device number
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev)
{
	struct ovl_new nw = {.mode = mode, .rdev = rdev, .link_fd = -1};
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	/* A 0/0 device would be a whiteout: refused, like the kernel. */
	if (S_ISCHR(mode) && rdev == makedev(0, 0))
		r = -EPERM;
	else if (!S_ISREG(mode) && !S_ISCHR(mode) && !S_ISBLK(mode) &&
		 !S_ISFIFO(mode) && !S_ISSOCK(mode))
		r = -EINVAL;
	else
		r = ovl_do_new(ovl_fs(req), req, ovl_node(req, parent), name,
			       &nw, &e, NULL);
	ovl_reply_new(req, "mknod", parent, name, r, &e);
}

/**
 * ovl_op_mkdir - FUSE mkdir: create a directory
 * @req: the request
 * @parent: node id of the parent directory
 * @name: entry name
 * @mode: type and permission bits (umask applied by the kernel)
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode)
{
	struct ovl_new nw = {.mode = S_IFDIR | (mode & 07777), .link_fd = -1};
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	r = ovl_do_new(ovl_fs(req), req, ovl_node(req, parent), name, &nw, &e,
		       NULL);
	ovl_reply_new(req, "mkdir", parent, name, r, &e);
}

/**
 * ovl_op_symlink - FUSE symlink: create a symlink
 * @req: the request
 * @link: symlink target
 * @parent: node id of the parent directory
 * @name: entry name
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name)
{
	struct ovl_new nw = {
		.mode = S_IFLNK | 0777, .link = link, .link_fd = -1};
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	r = ovl_do_new(ovl_fs(req), req, ovl_node(req, parent), name, &nw, &e,
		       NULL);
	ovl_reply_new(req, "symlink", parent, name, r, &e);
}

/**
 * ovl_op_link - FUSE link: create a hard link (copies up first)
 * @req: the request
 * @ino: node id of the object
 * @newparent: node id of the new parent
 * @newname: new entry name
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct ovl_node *node = ovl_node(req, ino);
	struct ovl_new nw = {.link_fd = -1};
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	r = ovl_copy_up(ofs, node, true);
	if (r == 0) {
		struct ovl_real real;

		r = ovl_real_get(ofs, node, true, &real);
		if (r == 0) {
			r = real.layer ? -EIO : ovl_real_open(&real, O_PATH);
			ovl_real_put(ofs, &real);
		}
	}
	if (r >= 0) {
		nw.mode = node->type;
		nw.link_fd = r;
		nw.link_node = node;
		struct stat st;

		r = ovl_do_new(ofs, req, ovl_node(req, newparent), newname, &nw,
			       &e, NULL);
		if (r == 0 && fstat(nw.link_fd, &st) == 0)
			ovl_node_set_linked(ofs, node, st.st_ino);
		close(nw.link_fd);
	}
	ovl_reply_new(req, "link", newparent, newname, r, &e);
}

/*
 * O_TMPFILE: an unnamed upper file in @parent's upper directory (copied
 * up first), owned and moded as a created one, pinned by its own fd.
 */
static int ovl_do_tmpfile(struct ovl_fs *ofs, fuse_req_t req,
			  struct ovl_node *parent, struct ovl_new *nw,
			  struct fuse_entry_param *e, int *ret_fd)
{
	char p[OVL_PROC_PATH_MAX];
	int fd, pin, r;

	if (!S_ISDIR(parent->type))
		return -ENOTDIR;
	r = ovl_copy_up(ofs, parent, true);
	if (r < 0)
		return r;
	nw->tmpfile = true;
	r = ovl_new_at(ofs, req, parent, nw, ovl_node_upper(parent), ".", false,
		       &fd);
	if (r < 0)
		return r;
	pin = open(ovl_proc_path(p, fd), O_PATH | O_CLOEXEC);
	if (pin < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = ovl_node_new_unnamed(ofs, parent, S_IFREG, pin, e);
	if (r < 0) {
		close(pin);
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/**
 * ovl_op_create - FUSE create: create and open a regular file
 * @req: the request
 * @parent: node id of the parent directory
 * @name: entry name
 * @mode: type and permission bits (umask applied by the kernel)
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * The request loop hands FUSE_TMPFILE (O_TMPFILE) here too, with the
 * name the kernel gives it, "/", which no real entry can have.
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct ovl_new nw = {.mode = S_IFREG | (mode & 07777), .link_fd = -1};
	struct fuse_entry_param e;
	struct ovl_handle *h;
	int fd = -1, r;

	memset(&e, 0, sizeof(e));
	nw.open_flags = ovl_open_flags(ofs, fi->flags);
	if (!strcmp(name, "/"))
		r = ovl_do_tmpfile(ofs, req, ovl_node(req, parent), &nw, &e,
				   &fd);
	else
		r = ovl_do_new(ofs, req, ovl_node(req, parent), name, &nw, &e,
			       &fd);
	ovl_dbg(ofs, "create(%lu, %s, %#o) = %d", (unsigned long)parent, name,
		fi->flags, r);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	h = ovl_handle_new(ofs, ovl_node(req, e.ino));
	if (!h) {
		close(fd);
		ovl_op_forget_one(ofs, ovl_node(req, e.ino), 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->fd = fd;
	h->upper = true;
	fi->fh = (uint64_t)(uintptr_t)h;
	ovl_passthrough_open(ofs, h, fi, nw.mode);
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		ovl_handle_free(ofs, h);
}

/* Removes what now sits in work/ as @tmp (an old file or directory). */
static void ovl_remove_tmp(struct ovl_fs *ofs, const char *tmp)
{
	int r = ovl_rm_tree_at(ofs->work_fd, tmp);

	if (r < 0)
		/* Leftovers in work/ are removed at the next mount. */
		ovl_dbg(ofs, "cannot remove work/%s: %d", tmp, r);
}

static int ovl_do_remove(struct ovl_fs *ofs, struct ovl_node *parent,
			 const char *name, bool dir)
{
	struct ovl_node *victim, *known = NULL;
	int pufd, lower, r, flags = dir ? AT_REMOVEDIR : 0;
	bool upper;
	char tmp[64];

	if (ovl_name_is_private(name))
		return -ENOENT;
	r = ovl_lookup_real(ofs, parent, name, &victim, NULL);
	if (r < 0)
		return r;
	if (dir != S_ISDIR(victim->type)) {
		r = dir ? -ENOTDIR : -EISDIR;
		goto out_discard;
	}
	if (dir) {
		r = ovl_dir_is_empty(ofs, victim);
		if (r < 0)
			goto out_discard;
		if (r == 0) {
			r = -ENOTEMPTY;
			goto out_discard;
		}
	}
	upper = victim->upper;
	/* Found below the upper: it is in a lower layer. */
	lower = upper ? ovl_lower_exists(ofs, parent, name) : 1;
	if (lower < 0) {
		r = lower;
		goto out_discard;
	}
	r = ovl_copy_up(ofs, parent, true);
	if (r < 0)
		goto out_discard;
	/* The kernel may still use the node (open files): keep it reachable. */
	known = ovl_node_find(ofs, parent, name);
	if (known) {
		r = ovl_node_pin(ofs, known);
		if (r < 0)
			goto out_discard;
		/* A copy-up may have finished since the lookup; none follows. */
		upper = upper || ovl_node_has_upper(known);
	}
	pufd = ovl_node_upper(parent);
	ovl_tmpname(ofs, tmp, sizeof(tmp));
	if (lower && upper) {
		/* Swap the upper object for a whiteout in one step. */
		if (mknodat(ofs->work_fd, tmp, S_IFCHR, makedev(0, 0)) < 0) {
			r = -errno;
			goto out_discard;
		}
		if (renameat2(ofs->work_fd, tmp, pufd, name, RENAME_EXCHANGE) <
		    0) {
			r = -errno;
			(void)unlinkat(ofs->work_fd, tmp, 0);
			goto out_discard;
		}
		ovl_remove_tmp(ofs, tmp);
	} else if (lower) {
		if (mknodat(pufd, name, S_IFCHR, makedev(0, 0)) < 0) {
			r = -errno;
			goto out_discard;
		}
	} else if (dir) {
		/* Whiteouts inside an upper-only directory go with it. */
		if (unlinkat(pufd, name, flags) < 0) {
			if (errno != ENOTEMPTY && errno != EEXIST) {
				r = -errno;
				goto out_discard;
			}
			if (renameat(pufd, name, ofs->work_fd, tmp) < 0) {
				r = -errno;
				goto out_discard;
			}
			ovl_remove_tmp(ofs, tmp);
		}
	} else if (unlinkat(pufd, name, flags) < 0) {
		r = -errno;
		goto out_discard;
	}
	r = 0;
out_discard:
	ovl_node_discard(victim);
	if (known) {
		if (r == 0) {
			ovl_node_unhash(ofs, known);
			ovl_node_removed(ofs, known);
		}
		ovl_op_forget_one(ofs, known, 1);
	}
	return r;
}

/**
 * ovl_op_unlink - FUSE unlink: remove a non-directory, leaving a whiteout if needed
 * @req: the request
 * @parent: node id of the parent directory
 * @name: entry name
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int r;

	r = ovl_do_remove(ofs, ovl_node(req, parent), name, false);
	ovl_dbg(ofs, "unlink(%lu, %s) = %d", (unsigned long)parent, name, r);
	fuse_reply_err(req, -r);
}

/**
 * ovl_op_rmdir - FUSE rmdir: remove an empty merged directory
 * @req: the request
 * @parent: node id of the parent directory
 * @name: entry name
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int r;

	r = ovl_do_remove(ofs, ovl_node(req, parent), name, true);
	ovl_dbg(ofs, "rmdir(%lu, %s) = %d", (unsigned long)parent, name, r);
	fuse_reply_err(req, -r);
}

/* Looks a name up for rename; *ret is NULL when it does not exist. */
static int ovl_rename_get(struct ovl_fs *ofs, struct ovl_node *parent,
			  const char *name, struct ovl_node **ret)
{
	struct fuse_entry_param e;
	int r;

	*ret = NULL;
	r = ovl_do_lookup(ofs, parent, name, &e);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	*ret = (struct ovl_node *)(uintptr_t)e.ino;
	return 0;
}

/* Most bytes of a redirect written (the kernel's redirect_max default). */
#define OVL_REDIRECT_MAX 256

/*
 * Builds the redirect of directory @node before it moves (the kernel's
 * ovl_get_redirect()): the name or redirect of @node and of each
 * ancestor, up to the root or to an absolute redirect. -EXDEV when it
 * would be too long (then tools copy instead). Caller holds rename_lock
 * for writing, so no redirect changes meanwhile.
 */
static int ovl_redirect_path(struct ovl_fs *ofs, struct ovl_node *node,
			     char buf[OVL_REDIRECT_MAX + 1], char **ret)
{
	size_t pos = OVL_REDIRECT_MAX;
	int r = 0;

	buf[pos] = '\0';
	pthread_mutex_lock(&ofs->tree_lock);
	for (struct ovl_node *n = node; n != ofs->root; n = n->parent) {
		const char *c = n->redirect ? n->redirect : n->name;
		size_t len = strlen(c);

		if (len + (c[0] != '/') > pos) {
			r = -EXDEV;
			break;
		}
		pos -= len;
		memcpy(buf + pos, c, len);
		if (c[0] == '/')
			break;
		buf[--pos] = '/';
	}
	pthread_mutex_unlock(&ofs->tree_lock);
	*ret = buf + pos;
	return r;
}

/*
 * Records where the lower parts of directory @node are before it moves
 * to @to (redirect_dir=on; overlay.redirect in the kernel's format):
 * its current name when it stays in its parent, else its absolute path
 * in the lower layers. A redirect that stays right is kept. @to is
 * marked impure, as the kernel does. Caller holds rename_lock for
 * writing.
 */
static int ovl_rename_redirect(struct ovl_fs *ofs, struct ovl_node *node,
			       bool samedir, struct ovl_node *to)
{
	char buf[OVL_REDIRECT_MAX + 1], *path = NULL, *redirect;
	int r;

	if (node->redirect && (samedir || node->redirect[0] == '/'))
		return ovl_set_impure(ofs, ovl_node_upper(to));
	if (samedir) {
		pthread_mutex_lock(&ofs->tree_lock);
		redirect = strdup(node->name);
		pthread_mutex_unlock(&ofs->tree_lock);
	} else {
		r = ovl_redirect_path(ofs, node, buf, &path);
		if (r < 0)
			return r;
		redirect = strdup(path);
	}
	if (!redirect)
		return -ENOMEM;
	r = ovl_set_xattr(ofs, ovl_node_upper(node), "redirect", redirect,
			  strlen(redirect));
	if (r < 0) {
		free(redirect);
		/* no xattrs on the upper: tools copy instead */
		return r == -EOPNOTSUPP ? -EXDEV : r;
	}
	free(node->redirect);
	node->redirect = redirect;
	return ovl_set_impure(ofs, ovl_node_upper(to));
}

/*
 * Marks directory @node, about to move from @from to @to, as the kernel
 * does: one with lower parts records where they are (redirect); a
 * pure-upper one moved into a merged parent is marked opaque, so no
 * lower directory of its new name can ever merge into it.
 */
static int ovl_rename_dir_mark(struct ovl_fs *ofs, struct ovl_node *node,
			       struct ovl_node *from, struct ovl_node *to)
{
	if (!node || !S_ISDIR(node->type))
		return 0;
	if (node->nr_lower)
		return ovl_rename_redirect(ofs, node, from == to, to);
	if (!to->nr_lower)
		return 0;
	return ovl_set_opaque_at(ofs, ovl_node_upper(node), ".");
}

/* Empties the upper part of a merged-empty directory (whiteouts only). */
static int ovl_rename_clear_dir(struct ovl_node *dir)
{
	struct dirent *de;
	DIR *d;
	int r;

	r = ovl_opendir_at(ovl_node_upper(dir), ".", &d);
	if (r < 0)
		return r;
	while ((de = readdir(d)) && r == 0)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = ovl_rm_tree_at(dirfd(d), de->d_name);
	closedir(d);
	return r;
}

static int ovl_do_rename(struct ovl_fs *ofs, struct ovl_node *parent,
			 const char *name, struct ovl_node *newparent,
			 const char *newname, unsigned int flags)
{
	struct ovl_node *src = NULL, *dst = NULL;
	int pufd, npufd, lower, r;
	enum ovl_slot slot = OVL_SLOT_FREE;
	char wh[NAME_MAX + 8];
	struct stat st;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if (ovl_name_is_private(name) || ovl_name_is_private(newname))
		return -ENOENT;
	r = ovl_rename_get(ofs, parent, name, &src);
	if (r == 0 && !src)
		r = -ENOENT;
	if (r == 0)
		r = ovl_rename_get(ofs, newparent, newname, &dst);
	if (r < 0)
		goto out_forget;
	if (src == dst)
		goto out_forget; /* same object: nothing to do */
	if ((flags & RENAME_NOREPLACE) && dst) {
		r = -EEXIST;
		goto out_forget;
	}
	if ((flags & RENAME_EXCHANGE) && !dst) {
		r = -ENOENT;
		goto out_forget;
	}
	/* Moving a directory with lower parts needs redirects. */
	if (ofs->config.redirect != OVL_REDIRECT_ON &&
	    ((S_ISDIR(src->type) && src->nr_lower) ||
	     (dst && S_ISDIR(dst->type) && dst->nr_lower &&
	      (flags & RENAME_EXCHANGE)))) {
		r = -EXDEV;
		goto out_forget;
	}
	if (dst && S_ISDIR(dst->type) && !(flags & RENAME_EXCHANGE)) {
		if (!S_ISDIR(src->type)) {
			r = -EISDIR;
			goto out_forget;
		}
		r = ovl_dir_is_empty(ofs, dst);
		if (r == 0)
			r = -ENOTEMPTY;
		if (r < 0)
			goto out_forget;
	} else if (dst && S_ISDIR(src->type) && !(flags & RENAME_EXCHANGE)) {
		r = -ENOTDIR;
		goto out_forget;
	}
	r = ovl_copy_up(ofs, src, true);
	if (r == 0 && (flags & RENAME_EXCHANGE))
		r = ovl_copy_up(ofs, dst, true);
	if (r == 0)
		r = ovl_copy_up(ofs, newparent, true);
	if (r == 0)
		r = ovl_copy_up(ofs, parent, true);
	/* A replaced target may still be open: keep it reachable. */
	if (r == 0 && dst && !(flags & RENAME_EXCHANGE))
		r = ovl_node_pin(ofs, dst);
	if (r < 0)
		goto out_forget;

	pthread_rwlock_wrlock(&ofs->rename_lock);
	pufd = ovl_node_upper(parent);
	npufd = ovl_node_upper(newparent);
	r = ovl_rename_dir_mark(ofs, src, parent, newparent);
	if (r == 0 && (flags & RENAME_EXCHANGE))
		r = ovl_rename_dir_mark(ofs, dst, newparent, parent);
	/* An empty merged target: its upper part holds whiteouts only. */
	if (r == 0 && dst && S_ISDIR(dst->type) && dst->nr_lower &&
	    ovl_node_upper(dst) >= 0 && !(flags & RENAME_EXCHANGE))
		r = ovl_rename_clear_dir(dst);
	if (r < 0)
		goto out_unlock;
	if (flags & RENAME_EXCHANGE) {
		if (renameat2(pufd, name, npufd, newname, RENAME_EXCHANGE) < 0)
			r = -errno;
		goto out_moved;
	}
	if (fstatat(npufd, newname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    ovl_is_whiteout(&st))
		slot = OVL_SLOT_WHITEOUT;
	if (slot == OVL_SLOT_WHITEOUT && S_ISDIR(src->type) &&
	    unlinkat(npufd, newname, 0) < 0) {
		r = -errno;
		goto out_unlock;
	}
	lower = ovl_lower_exists(ofs, parent, name);
	if (lower < 0) {
		r = lower;
		goto out_unlock;
	}
	if (lower &&
	    renameat2(pufd, name, npufd, newname, RENAME_WHITEOUT) == 0)
		goto out_moved;
	if (renameat(pufd, name, npufd, newname) < 0) {
		r = -errno;
		goto out_unlock;
	}
	if (lower && mknodat(pufd, name, S_IFCHR, makedev(0, 0)) < 0) {
		r = -errno;
		ovl_log(LOG_ERR, "rename: cannot leave a whiteout for %s: %s",
			name, strerror(-r));
	}
out_moved:
	if (r == 0 && !(flags & RENAME_EXCHANGE) &&
	    ovl_wh_file_name(wh, sizeof(wh), newname) == 0)
		/* A fuse-overlayfs whiteout of the new name is stale now. */
		(void)unlinkat(npufd, wh, 0);
	if (r == 0) {
		if (dst && !(flags & RENAME_EXCHANGE))
			ovl_node_unhash(ofs, dst);
		ovl_node_move(ofs, src, newparent, newname);
		if (flags & RENAME_EXCHANGE)
			ovl_node_move(ofs, dst, parent, name);
	}
out_unlock:
	pthread_rwlock_unlock(&ofs->rename_lock);
out_forget:
	if (r == 0 && dst && !(flags & RENAME_EXCHANGE))
		ovl_node_removed(ofs, dst);
	if (src)
		ovl_op_forget_one(ofs, src, 1);
	if (dst)
		ovl_op_forget_one(ofs, dst, 1);
	return r;
}

/**
 * ovl_rename_quick - can a rename be answered without a long wait?
 * @ofs: the mount
 * @parent: the source's parent
 * @name: the source's name
 * @newparent: the target's parent
 * @newname: the target's name
 * @flags: RENAME_* flags from the kernel
 *
 * A rename waits for nothing but its own system calls when the source
 * is a non-directory whose data is already in the upper layer (no
 * copy-up), both parents are in the upper layer, and the target, if
 * the kernel knows it, is no directory (no listing to prove it empty).
 * The caller also makes sure no copy-up holds the rename lock. Both
 * nodes are judged as they are now (ovl_node_peek()); a node that
 * changes before the rename runs only makes it slower.
 *
 * Return: true when it is quick.
 */
bool ovl_rename_quick(struct ovl_fs *ofs, struct ovl_node *parent,
		      const char *name, struct ovl_node *newparent,
		      const char *newname, unsigned int flags)
{
	bool upperdata = false;
	mode_t type = 0;

	if ((flags & ~RENAME_NOREPLACE) || !ovl_node_has_upper(parent) ||
	    !ovl_node_has_upper(newparent))
		return false;
	if (!ovl_node_peek(ofs, parent, name, &type, &upperdata) ||
	    S_ISDIR(type) || !upperdata)
		return false;
	return !ovl_node_peek(ofs, newparent, newname, &type, &upperdata) ||
	       !S_ISDIR(type);
}

/**
 * ovl_op_rename - FUSE rename: rename, see the rules of dir.c
 * @req: the request
 * @parent: node id of the parent directory
 * @name: entry name
 * @newparent: node id of the new parent
 * @newname: new entry name
 * @flags: flags from the kernel
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int r;

	r = ovl_do_rename(ofs, ovl_node(req, parent), name,
			  ovl_node(req, newparent), newname, flags);
	ovl_dbg(ofs, "rename(%lu, %s, %lu, %s, %#x) = %d",
		(unsigned long)parent, name, (unsigned long)newparent, newname,
		flags, r);
	fuse_reply_err(req, -r);
}
