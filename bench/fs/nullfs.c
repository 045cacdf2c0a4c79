// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nullfs - a FUSE daemon that costs next to nothing, as a yardstick.
 *
 * It keeps names and attributes in memory and throws file data away:
 * every request is answered from a hash table, with no system call
 * but the read of the request and the write of the answer. What a
 * metadata workload (untar, the fsync loop) costs on nullfs is what
 * FUSE itself costs on this machine for nullfs' requests: the kernel's
 * side of each one and the round trip between process and daemon.
 *
 * It runs the way errovl does: one thread that polls /dev/fuse for
 * 50 us before it sleeps, the same entry and attribute timeouts,
 * negative entries cached, and the writeback cache. It negotiates only
 * what libfuse 3.14 knows, so it gets more requests than errovl, which
 * adds FUSE_HANDLE_KILLPRIV_V2 and passthrough itself (one GETXATTR,
 * GETATTR and SETATTR more per created file, and its writes as WRITE
 * requests); docs/performance.md scales by that.
 *
 * Not a filesystem to keep anything in: reads return zeros, listings
 * are empty, and the tree is gone at unmount. Single-threaded, so
 * nothing is locked.
 *
 * usage: nullfs [-f] MOUNTPOINT    (as root; fsbench.sh configs null*)
 */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NULLFS_TIMEOUT 3600.0 /* errovl's default entry/attr timeout */
#define NULLFS_SPIN_NS 50000 /* errovl's default polling window */

struct nullfs_node {
	struct stat st;
	char *target; /* symlink target */
	size_t children; /* names in this directory */
	struct nullfs_node *all_next; /* every node, freed at exit */
};

/* A name in a directory: the hash table's entry. */
struct nullfs_dent {
	fuse_ino_t parent;
	char *name;
	struct nullfs_node *node;
	struct nullfs_dent *next; /* hash chain */
};

static struct nullfs_dent **nullfs_hash;
static const size_t nullfs_hash_size = 1 << 18;
static struct nullfs_node nullfs_root;
static struct nullfs_node *nullfs_all;
static ino_t nullfs_next_ino = 2;

static struct nullfs_node *nullfs_node(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &nullfs_root
				   : (struct nullfs_node *)(uintptr_t)ino;
}

static fuse_ino_t nullfs_ino(struct nullfs_node *n)
{
	return n == &nullfs_root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static size_t nullfs_bucket(fuse_ino_t parent, const char *name)
{
	uint64_t h = parent * 0x9e3779b97f4a7c15ull;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29)) & (nullfs_hash_size - 1);
}

static struct nullfs_dent **nullfs_find(fuse_ino_t parent, const char *name)
{
	struct nullfs_dent **p = &nullfs_hash[nullfs_bucket(parent, name)];

	for (; *p; p = &(*p)->next)
		if ((*p)->parent == parent && !strcmp((*p)->name, name))
			break;
	return p;
}

static void nullfs_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* Fills @e for @n (NULL: a negative entry). */
static void nullfs_entry(struct fuse_entry_param *e, struct nullfs_node *n)
{
	memset(e, 0, sizeof(*e));
	if (n) {
		e->ino = nullfs_ino(n);
		e->attr = n->st;
	}
	e->attr_timeout = e->entry_timeout = NULLFS_TIMEOUT;
}

static void nullfs_reply_entry(fuse_req_t req, struct nullfs_node *n)
{
	struct fuse_entry_param e;

	nullfs_entry(&e, n);
	fuse_reply_entry(req, &e);
}

static void nullfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct nullfs_dent *d = *nullfs_find(parent, name);

	/* A miss is a negative entry the kernel caches. */
	nullfs_reply_entry(req, d ? d->node : NULL);
}

/* Links @n under @parent as @name in the free slot @p (nullfs_find()). */
static int nullfs_link_name(struct nullfs_dent **p, fuse_ino_t parent,
			    const char *name, struct nullfs_node *n)
{
	struct nullfs_dent *d = malloc(sizeof(*d));

	if (!d || !(d->name = strdup(name))) {
		free(d);
		return -ENOMEM;
	}
	d->parent = parent;
	d->node = n;
	d->next = NULL;
	*p = d;
	nullfs_node(parent)->children++;
	return 0;
}

static void nullfs_make(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, const char *target,
			struct fuse_file_info *fi)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct nullfs_dent **p = nullfs_find(parent, name);
	struct nullfs_node *n;

	if (*p) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	n = calloc(1, sizeof(*n));
	if (!n || (target && !(n->target = strdup(target))) ||
	    nullfs_link_name(p, parent, name, n) < 0) {
		if (n)
			free(n->target);
		free(n);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n->all_next = nullfs_all;
	nullfs_all = n;
	n->st.st_ino = nullfs_next_ino++;
	n->st.st_mode = mode;
	n->st.st_nlink = S_ISDIR(mode) ? 2 : 1;
	n->st.st_uid = ctx->uid;
	n->st.st_gid = ctx->gid;
	n->st.st_blksize = 4096;
	if (target)
		n->st.st_size = (off_t)strlen(target);
	nullfs_now(&n->st.st_mtim);
	n->st.st_atim = n->st.st_ctim = n->st.st_mtim;
	nullfs_node(parent)->st.st_mtim = n->st.st_mtim;
	nullfs_node(parent)->st.st_ctim = n->st.st_mtim;
	if (fi) {
		struct fuse_entry_param e;

		nullfs_entry(&e, n);
		fuse_reply_create(req, &e, fi);
		return;
	}
	nullfs_reply_entry(req, n);
}

static void nullfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			  mode_t mode, struct fuse_file_info *fi)
{
	nullfs_make(req, parent, name, S_IFREG | (mode & 07777), NULL, fi);
}

static void nullfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode)
{
	nullfs_make(req, parent, name, S_IFDIR | (mode & 07777), NULL, NULL);
}

static void nullfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, dev_t rdev)
{
	(void)rdev;
	nullfs_make(req, parent, name, mode, NULL, NULL);
}

static void nullfs_symlink(fuse_req_t req, const char *target,
			   fuse_ino_t parent, const char *name)
{
	nullfs_make(req, parent, name, S_IFLNK | 0777, target, NULL);
}

static void nullfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct nullfs_node *n = nullfs_node(ino);

	if (n->target)
		fuse_reply_readlink(req, n->target);
	else
		fuse_reply_err(req, EINVAL);
}

static void nullfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
			const char *name)
{
	struct nullfs_node *n = nullfs_node(ino);
	struct nullfs_dent **p = nullfs_find(parent, name);

	if (*p) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	if (nullfs_link_name(p, parent, name, n) < 0) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n->st.st_nlink++;
	nullfs_reply_entry(req, n);
}

/* Nodes live until exit (a few hundred bytes each): nothing to count. */
static void nullfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

static void nullfs_getattr(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	(void)fi;
	fuse_reply_attr(req, &nullfs_node(ino)->st, NULLFS_TIMEOUT);
}

static void nullfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			   int to_set, struct fuse_file_info *fi)
{
	struct nullfs_node *n = nullfs_node(ino);

	if (to_set & FUSE_SET_ATTR_MODE)
		n->st.st_mode =
			(n->st.st_mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		n->st.st_uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		n->st.st_gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_SIZE)
		n->st.st_size = attr->st_size;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		nullfs_now(&n->st.st_atim);
	else if (to_set & FUSE_SET_ATTR_ATIME)
		n->st.st_atim = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		nullfs_now(&n->st.st_mtim);
	else if (to_set & FUSE_SET_ATTR_MTIME)
		n->st.st_mtim = attr->st_mtim;
	nullfs_now(&n->st.st_ctim);
	nullfs_getattr(req, ino, fi);
}

/* Unlinks @name from @parent; @dir: rmdir (the directory must be empty). */
static void nullfs_remove(fuse_req_t req, fuse_ino_t parent, const char *name,
			  int dir)
{
	struct nullfs_dent **p = nullfs_find(parent, name), *d = *p;

	if (!d) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (dir != S_ISDIR(d->node->st.st_mode)) {
		fuse_reply_err(req, dir ? ENOTDIR : EISDIR);
		return;
	}
	if (dir && d->node->children) {
		fuse_reply_err(req, ENOTEMPTY);
		return;
	}
	*p = d->next;
	nullfs_node(parent)->children--;
	d->node->st.st_nlink = dir ? 0 : d->node->st.st_nlink - 1;
	free(d->name);
	free(d);
	fuse_reply_err(req, 0);
}

static void nullfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	nullfs_remove(req, parent, name, 0);
}

static void nullfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	nullfs_remove(req, parent, name, 1);
}

static void nullfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			  fuse_ino_t newparent, const char *newname,
			  unsigned int flags)
{
	struct nullfs_dent *d = *nullfs_find(parent, name);
	struct nullfs_dent **q = nullfs_find(newparent, newname), *old = *q;
	char *nn;

	if (!d || flags) {
		fuse_reply_err(req, d ? EINVAL : ENOENT);
		return;
	}
	if (old == d) {
		fuse_reply_err(req, 0);
		return;
	}
	/* Directories over names: not needed by the workloads. */
	if (old &&
	    (S_ISDIR(old->node->st.st_mode) || S_ISDIR(d->node->st.st_mode))) {
		fuse_reply_err(req, EXDEV);
		return;
	}
	nn = strdup(newname);
	if (!nn) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (old) { /* replaced: its name goes */
		*q = old->next;
		old->node->st.st_nlink--;
		nullfs_node(newparent)->children--;
		free(old->name);
		free(old);
	}
	*nullfs_find(parent, name) = d->next;
	nullfs_node(parent)->children--;
	free(d->name);
	d->name = nn;
	d->parent = newparent;
	d->next = NULL;
	*nullfs_find(newparent, newname) = d;
	nullfs_node(newparent)->children++;
	fuse_reply_err(req, 0);
}

static void nullfs_open(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	/* FUSE_CAP_ATOMIC_O_TRUNC: the truncation is ours. */
	if (fi->flags & O_TRUNC)
		nullfs_node(ino)->st.st_size = 0;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void nullfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	static char zeros[1 << 20];
	off_t end = nullfs_node(ino)->st.st_size;

	(void)fi;
	if (off >= end)
		size = 0;
	else if ((off_t)size > end - off)
		size = (size_t)(end - off);
	fuse_reply_buf(req, zeros, size < sizeof(zeros) ? size : sizeof(zeros));
}

static void nullfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			 size_t size, off_t off, struct fuse_file_info *fi)
{
	struct nullfs_node *n = nullfs_node(ino);

	(void)buf;
	(void)fi;
	if (off + (off_t)size > n->st.st_size)
		n->st.st_size = off + (off_t)size;
	fuse_reply_write(req, size);
}

static void nullfs_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void nullfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			 struct fuse_file_info *fi)
{
	(void)datasync;
	nullfs_ok(req, ino, fi);
}

static void nullfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	/* Names are not kept per directory: "." and ".." only. */
	char buf[256];
	struct stat st = {.st_mode = S_IFDIR};
	size_t len = 0;

	(void)ino;
	(void)fi;
	if (off == 0)
		len += fuse_add_direntry(req, buf, sizeof(buf), ".", &st, 1);
	if (off <= 1)
		len += fuse_add_direntry(req, buf + len, sizeof(buf) - len,
					 "..", &st, 2);
	fuse_reply_buf(req, buf, len <= size ? len : 0);
}

static void nullfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			    size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, ENODATA);
}

static void nullfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_xattr(req, 0);
}

static void nullfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = {.f_bsize = 4096,
			     .f_frsize = 4096,
			     .f_blocks = 1ull << 30,
			     .f_bfree = 1ull << 30,
			     .f_bavail = 1ull << 30,
			     .f_files = 1ull << 30,
			     .f_ffree = 1ull << 30,
			     .f_namemax = 255};

	(void)ino;
	fuse_reply_statfs(req, &sv);
}

static void nullfs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->want |= (FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ATOMIC_O_TRUNC |
		       FUSE_CAP_ASYNC_READ) &
		      conn->capable;
	/* It lists no names, so plain READDIR. */
	conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
}

static const struct fuse_lowlevel_ops nullfs_ops = {
	.init = nullfs_init,
	.lookup = nullfs_lookup,
	.forget = nullfs_forget,
	.getattr = nullfs_getattr,
	.setattr = nullfs_setattr,
	.readlink = nullfs_readlink,
	.mknod = nullfs_mknod,
	.mkdir = nullfs_mkdir,
	.unlink = nullfs_unlink,
	.rmdir = nullfs_rmdir,
	.symlink = nullfs_symlink,
	.rename = nullfs_rename,
	.link = nullfs_link,
	.open = nullfs_open,
	.read = nullfs_read,
	.write = nullfs_write,
	.release = nullfs_ok,
	.fsync = nullfs_fsync,
	.opendir = nullfs_open,
	.readdir = nullfs_readdir,
	.releasedir = nullfs_ok,
	.fsyncdir = nullfs_fsync,
	.statfs = nullfs_statfs,
	.getxattr = nullfs_getxattr,
	.listxattr = nullfs_listxattr,
	.create = nullfs_create,
};

static void nullfs_free_all(void)
{
	struct nullfs_dent *d;

	for (size_t b = 0; b < nullfs_hash_size; b++)
		while ((d = nullfs_hash[b])) {
			nullfs_hash[b] = d->next;
			free(d->name);
			free(d);
		}
	free(nullfs_hash);
	while (nullfs_all) {
		struct nullfs_node *n = nullfs_all;

		nullfs_all = n->all_next;
		free(n->target);
		free(n);
	}
}

static uint64_t nullfs_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads a request: polls the non-blocking device, then sleeps in poll(). */
static ssize_t nullfs_io_read(int fd, void *buf, size_t len, void *userdata)
{
	uint64_t until = nullfs_ns() + NULLFS_SPIN_NS;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;

	(void)userdata;
	for (;;) {
		n = read(fd, buf, len);
		if (n >= 0 || errno != EAGAIN)
			return n;
		/* EINTR goes up: libfuse then sees a SIGTERM's exit. */
		if (nullfs_ns() > until && poll(&pfd, 1, -1) < 0)
			return -1;
	}
}

static ssize_t nullfs_io_writev(int fd, struct iovec *iov, int count,
				void *userdata)
{
	(void)userdata;
	return writev(fd, iov, count);
}

static const struct fuse_custom_io nullfs_io = {
	.read = nullfs_io_read,
	.writev = nullfs_io_writev,
};

int main(int argc, char *argv[])
{
	char *fargv[] = {argv[0], "-o", "default_permissions,allow_other",
			 NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se;
	const char *mnt = argc > 1 ? argv[argc - 1] : NULL;
	int fd, ret = 1;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[1], "-f")) ||
	    mnt[0] == '-') {
		fprintf(stderr, "usage: nullfs [-f] MOUNTPOINT\n");
		return 2;
	}
	nullfs_hash = calloc(nullfs_hash_size, sizeof(*nullfs_hash));
	if (!nullfs_hash) {
		perror("nullfs");
		return 1;
	}
	nullfs_root.st.st_ino = FUSE_ROOT_ID;
	nullfs_root.st.st_mode = S_IFDIR | 0755;
	nullfs_root.st.st_nlink = 2;
	nullfs_now(&nullfs_root.st.st_mtim);
	se = fuse_session_new(&args, &nullfs_ops, sizeof(nullfs_ops), NULL);
	if (!se) {
		fuse_opt_free_args(&args);
		return 1;
	}
	if (fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, mnt) == 0) {
			fd = fuse_session_fd(se);
			if (fcntl(fd, F_SETFL,
				  fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 &&
			    fuse_session_custom_io(se, &nullfs_io, fd) == 0)
				/* A signal's number: asked to stop. */
				ret = fuse_session_loop(se) < 0;
			else
				fprintf(stderr, "nullfs: cannot set up the "
						"device\n");
			fuse_session_unmount(se);
		}
		fuse_remove_signal_handlers(se);
	}
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	nullfs_free_all();
	return ret;
}
