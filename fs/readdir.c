// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory listing: opendir, readdir, readdirplus, releasedir,
 * fsyncdir, and the merged emptiness test used by rmdir and rename.
 *
 * A directory made of one real directory (upper-only, opaque, or a
 * single lower) is streamed straight from the real directory: the
 * offsets are the real telldir() cookies, so telldir/seekdir are as
 * stable as the underlying filesystem makes them and nothing is held
 * in memory. Only whiteouts and ".wh.*" names are filtered out.
 *
 * A merged directory is read once per open handle, at the first
 * readdir at offset 0, layer by layer from the top: a name is listed
 * the first time it is met, whiteouts (0/0 devices, ".wh.NAME") hide
 * the name in the layers below, and an opaque lower stops the descent
 * (the node's lower list is already cut there). The result is an
 * array whose index + 1 is the offset handed to the kernel, so seekdir
 * to any offset returned earlier is exact. The array lives as long as
 * the handle and is freed at releasedir: memory follows the
 * directories open now, not the largest one ever listed. A seekdir to
 * 0 re-reads the layers (rewinddir sees changes, as POSIX asks).
 *
 * d_ino is composed like st_ino (ovl_compose_ino()) from the layer
 * the listed entry comes from, so it equals what stat() reports.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ovl.h"

struct ovl_dirent {
	char *name;
	ino_t ino;
	unsigned char type; /* DT_* */
	bool hidden; /* whited out: only keeps the name from lower layers */
	bool merge; /* upper directory: the next layer may give its d_ino */
};

/*
 * Per-handle readdir state; protected by lock. dp and loaded are also
 * read without it, atomically, as a hint (ovl_dir_read_quick()).
 */
struct ovl_dir {
	pthread_mutex_t lock;
	DIR *dp; /* streaming mode: the real directory */
	unsigned int layer; /* its layer */
	int impure_fd; /* streaming upper dir marked impure, else -1 */
	struct ovl_dirent *ents; /* merged mode: entries, index + 1 = off */
	size_t nr, cap;
	size_t *set; /* open-addressing set of ents indices + 1 */
	size_t set_size;
	bool loaded; /* ents is built */
};

static size_t ovl_dir_hash(const char *s)
{
	size_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static void ovl_dir_clear(struct ovl_dir *d)
{
	for (size_t i = 0; i < d->nr; i++)
		free(d->ents[i].name);
	free(d->ents);
	free(d->set);
	d->ents = NULL;
	d->set = NULL;
	d->nr = d->cap = d->set_size = 0;
	__atomic_store_n(&d->loaded, false, __ATOMIC_RELAXED);
}

static int ovl_dir_set_grow(struct ovl_dir *d)
{
	size_t nsize = d->set_size ? d->set_size * 2 : 64;
	size_t *ns = calloc(nsize, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < d->nr; i++) {
		size_t b = ovl_dir_hash(d->ents[i].name) & (nsize - 1);

		while (ns[b])
			b = (b + 1) & (nsize - 1);
		ns[b] = i + 1;
	}
	free(d->set);
	d->set = ns;
	d->set_size = nsize;
	return 0;
}

/* Adds @name unless present. Returns 1 added, 0 present, -ENOMEM. */
static int ovl_dir_add(struct ovl_dir *d, const char *name, ino_t ino,
		       unsigned char type, bool hidden,
		       struct ovl_dirent **ret_old)
{
	size_t b;
	int r;

	if (d->nr * 2 >= d->set_size) {
		r = ovl_dir_set_grow(d);
		if (r < 0)
			return r;
	}
	b = ovl_dir_hash(name) & (d->set_size - 1);
	for (; d->set[b]; b = (b + 1) & (d->set_size - 1))
		if (!strcmp(d->ents[d->set[b] - 1].name, name)) {
			*ret_old = &d->ents[d->set[b] - 1];
			return 0;
		}
	if (d->nr == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 32;
		struct ovl_dirent *ne = realloc(d->ents, ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		d->ents = ne;
		d->cap = ncap;
	}
	d->ents[d->nr].name = strdup(name);
	if (!d->ents[d->nr].name)
		return -ENOMEM;
	d->ents[d->nr].ino = ino;
	d->ents[d->nr].type = type;
	d->ents[d->nr].hidden = hidden;
	d->ents[d->nr].merge = false;
	*ret_old = &d->ents[d->nr];
	d->set[b] = ++d->nr;
	return 1;
}

/*
 * Classifies one real entry: 1 = show, 0 = whiteout (hides the name
 * below), -1 = skip entirely (. and ..), and fills *type.
 */
static int ovl_dir_classify(DIR *dp, struct dirent *de, unsigned char *type)
{
	struct stat st;

	if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
		return -1;
	*type = de->d_type;
	if (de->d_type == DT_CHR || de->d_type == DT_UNKNOWN) {
		if (fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0)
			return -1; /* vanished meanwhile */
		if (ovl_is_whiteout(&st))
			return 0;
		*type = IFTODT(st.st_mode);
	}
	return 1;
}

/*
 * A directory merged from the upper and a lower layer reports the
 * top-most lower directory's inode number (kernel: the copy-up origin),
 * so it does not change when the directory is copied up (fts, used by
 * rm -r and find, checks that). @old is the upper entry, @de the first
 * entry of the same name below it.
 */
static void ovl_dir_merge_ino(struct ovl_fs *ofs, int ufd,
			      struct ovl_dirent *old, struct dirent *de,
			      unsigned char type, int c, unsigned int layer)
{
	int fd, opaque = 1;

	old->merge = false;
	if (c != 1 || type != DT_DIR)
		return; /* a whiteout or a non-directory ends the merge */
	fd = openat(ufd, old->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ovl_get_opaque(ofs, fd, &opaque) == 0 && !opaque)
		old->ino = ovl_compose_ino(ofs, layer, de->d_ino);
	close(fd);
}

static int ovl_dir_read_layer(struct ovl_fs *ofs, struct ovl_node *node,
			      struct ovl_dir *d, int fd, unsigned int layer,
			      int ufd)
{
	ino_t ino;
	struct ovl_dirent *old;
	struct dirent *de;
	unsigned char type;
	int r, c, impure_fd = -1;
	DIR *dp;

	r = ovl_opendir_at(fd, ".", &dp);
	if (r < 0)
		return r;
	if (layer == 0 && ovl_dir_impure(ofs, fd))
		impure_fd = fd;
	while ((errno = 0, de = readdir(dp))) {
		c = ovl_dir_classify(dp, de, &type);
		if (c < 0)
			continue;
		if (ovl_name_is_private(de->d_name)) {
			/* ".wh.NAME" hides NAME below; sentinels hide nothing. */
			if (strncmp(de->d_name, ".wh..wh.", 8) &&
			    strcmp(de->d_name, ".wh..opq") && de->d_name[4]) {
				r = ovl_dir_add(d, de->d_name + 4, 0, 0, true,
						&old);
				if (r == 0)
					old->merge = false;
			}
		} else {
			bool redirected = false;

			ino = ovl_compose_ino(ofs, layer, de->d_ino);
			if (layer == 0 && c == 1 && type != DT_DIR)
				ino = ovl_node_dino(ofs, node, de->d_name, type,
						    ino, impure_fd);
			else if (layer == 0 && c == 1)
				ino = ovl_node_dino_dir(ofs, node, de->d_name,
							ino, impure_fd,
							&redirected);
			r = ovl_dir_add(d, de->d_name, ino, type, c == 0, &old);
			/* A renamed directory merges with another name. */
			if (r == 1 && layer == 0 && c == 1 && type == DT_DIR)
				old->merge = !redirected;
			else if (r == 0 && old->merge)
				ovl_dir_merge_ino(ofs, ufd, old, de, type, c,
						  layer);
		}
		if (r < 0)
			break;
		r = 0;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(dp);
	return r;
}

static int ovl_dir_load(struct ovl_fs *ofs, struct ovl_node *node,
			struct ovl_dir *d)
{
	int ufd = ovl_node_upper(node), r = 0;

	ovl_dir_clear(d);
	if (ufd >= 0)
		r = ovl_dir_read_layer(ofs, node, d, ufd, 0, ufd);
	for (unsigned int i = 0; i < node->nr_lower && r == 0; i++)
		r = ovl_dir_read_layer(ofs, node, d, node->lower[i].fd,
				       node->lower[i].layer, ufd);
	if (r < 0)
		ovl_dir_clear(d);
	else
		__atomic_store_n(&d->loaded, true, __ATOMIC_RELAXED);
	return r;
}

/**
 * ovl_dir_is_empty - does the merged view of @node list nothing?
 * @ofs: the mount
 * @node: a directory node
 *
 * Return: 1 empty, 0 not empty, -errno.
 */
int ovl_dir_is_empty(struct ovl_fs *ofs, struct ovl_node *node)
{
	struct ovl_dir d;
	int r;

	memset(&d, 0, sizeof(d));
	r = ovl_dir_load(ofs, node, &d);
	if (r == 0) {
		r = 1;
		for (size_t i = 0; i < d.nr; i++)
			if (!d.ents[i].hidden)
				r = 0;
	}
	ovl_dir_clear(&d);
	return r;
}

static bool ovl_dir_streams(struct ovl_node *node)
{
	return (ovl_node_upper(node) >= 0) + node->nr_lower == 1;
}

/**
 * ovl_op_opendir - FUSE opendir: open a directory for listing
 * @req: the request
 * @ino: node id of the object
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct ovl_node *node = ovl_node(req, ino);
	struct ovl_handle *h;
	int r = 0;

	h = ovl_handle_new(ofs, node);
	if (h)
		h->dir = calloc(1, sizeof(*h->dir));
	if (!h || !h->dir) {
		r = -ENOMEM;
	} else {
		int fd = ovl_node_real(node, &h->dir->layer);

		pthread_mutex_init(&h->dir->lock, NULL);
		h->dir->impure_fd = -1;
		if (ovl_dir_streams(node)) {
			r = ovl_opendir_at(fd, ".", &h->dir->dp);
			/* The node's fd: valid while the handle holds it. */
			if (r == 0 && h->dir->layer == 0 &&
			    ovl_dir_impure(ofs, fd))
				h->dir->impure_fd = fd;
		}
	}
	ovl_dbg(ofs, "opendir(%lu) = %d", (unsigned long)ino, r);
	if (r < 0) {
		if (h) {
			free(h->dir);
			h->dir = NULL;
			ovl_handle_free(ofs, h);
		}
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	/*
	 * The kernel may keep the listing: it drops it itself when an
	 * entry of this directory is created, removed or renamed, and
	 * only errovl changes the layers.
	 */
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) == -ENOENT)
		ovl_op_releasedir_handle(ofs, h);
}

/* Appends one entry; returns its size, or 0 when the buffer is full. */
static size_t ovl_dir_emit(fuse_req_t req, struct ovl_fs *ofs,
			   struct ovl_node *node, bool plus, char *buf,
			   size_t rem, const char *name, ino_t ino,
			   unsigned char type, off_t next)
{
	struct fuse_entry_param e;
	size_t n;
	bool looked = false;

	memset(&e, 0, sizeof(e));
	e.attr.st_ino = ino;
	e.attr.st_mode = DTTOIF(type);
	if (!plus) {
		n = fuse_add_direntry(req, buf, rem, name, &e.attr, next);
		return n > rem ? 0 : n;
	}
	if (strcmp(name, ".") && strcmp(name, "..")) {
		if (ovl_do_lookup(ofs, node, name, &e) == 0) {
			looked = true;
		} else {
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = ino;
			e.attr.st_mode = DTTOIF(type);
		}
	}
	n = fuse_add_direntry_plus(req, buf, rem, name, &e, next);
	if (n > rem) {
		if (looked)
			ovl_op_forget_one(ofs, ovl_node(req, e.ino), 1);
		return 0;
	}
	return n;
}

/*
 * A READDIRPLUS answered by the thread that reads requests fills at most
 * this many bytes, what getdents() of glibc asks for: 204 entries or
 * fewer (an entry takes at least 160), each one a lookup. The kernel
 * asks with the size of the caller's buffer (up to max_pages).
 */
#define OVL_DIR_INLINE_PLUS 32768

/**
 * ovl_dir_read_quick - can a listing be answered without blocking for long?
 * @h: the directory handle the READDIR or READDIRPLUS names
 * @off: the offset it asks for
 *
 * True when the listing comes from one real directory (at most one
 * buffer of getdents) or from the merged listing already in memory;
 * false when a merged directory must be read from every layer first
 * (offset 0, or not read yet; also a streamed directory copied up since
 * opendir, which offset 0 turns into a merged one). ovl_dir_read()
 * bounds the lookups of a READDIRPLUS answered on the reader. Read
 * without the lock, as a hint (the kernel sends one listing request
 * of a handle at a time).
 *
 * Context: the request loop's dispatch, while the request is in flight
 * (the kernel keeps @h open).
 *
 * Return: true when the reader may answer it.
 */
bool ovl_dir_read_quick(const struct ovl_handle *h, uint64_t off)
{
	if (!h->dir)
		return false;
	/* A rewind of a directory copied up since opendir merges it. */
	if (__atomic_load_n(&h->dir->dp, __ATOMIC_RELAXED))
		return off != 0 || ovl_dir_streams(h->node);
	return off != 0 && __atomic_load_n(&h->dir->loaded, __ATOMIC_RELAXED);
}

static int ovl_dir_fill_stream(fuse_req_t req, struct ovl_fs *ofs,
			       struct ovl_node *node, struct ovl_dir *d,
			       bool plus, char *buf, size_t size, off_t off,
			       size_t *ret_len)
{
	ino_t ino;
	struct dirent *de;
	unsigned char type;
	size_t len = 0, n;
	long pos;

	if (telldir(d->dp) != off) {
		if (off == 0)
			rewinddir(d->dp);
		else
			seekdir(d->dp, off);
	}
	for (;;) {
		pos = telldir(d->dp);
		errno = 0;
		de = readdir(d->dp);
		if (!de) {
			if (errno)
				return -errno;
			break;
		}
		if (ovl_name_is_private(de->d_name))
			continue;
		type = de->d_type;
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    ovl_dir_classify(d->dp, de, &type) <= 0)
			continue;
		ino = ovl_compose_ino(ofs, d->layer, de->d_ino);
		if (d->layer == 0 && type != DT_DIR)
			ino = ovl_node_dino(ofs, node, de->d_name, type, ino,
					    d->impure_fd);
		n = ovl_dir_emit(req, ofs, node, plus, buf + len, size - len,
				 de->d_name, ino, type, telldir(d->dp));
		if (!n) {
			seekdir(d->dp, pos);
			break;
		}
		len += n;
	}
	*ret_len = len;
	return 0;
}

static int ovl_dir_fill_merged(fuse_req_t req, struct ovl_fs *ofs,
			       struct ovl_node *node, struct ovl_dir *d,
			       bool plus, char *buf, size_t size, off_t off,
			       size_t *ret_len)
{
	size_t len = 0, n;
	struct stat st;
	int r;

	if (off == 0 || !d->loaded) {
		r = ovl_dir_load(ofs, node, d);
		if (r < 0)
			return r;
	}
	/* Index 0 is ".", 1 "..", 2 + k is ents[k]; offset = index + 1. */
	for (off_t i = off; i < (off_t)d->nr + 2; i++) {
		const char *name;
		ino_t ino;
		unsigned char type = DT_DIR;

		if (i < 2) {
			unsigned int layer;
			int fd = ovl_node_real(node, &layer);

			/* "." of a merged directory: its origin, as stat. */
			if (i == 0 && node->nr_lower) {
				fd = node->lower[0].fd;
				layer = node->lower[0].layer;
			}
			name = i == 0 ? "." : "..";
			if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				st.st_ino = 0;
			ino = ovl_compose_ino(ofs, layer, st.st_ino);
		} else {
			struct ovl_dirent *de = &d->ents[i - 2];

			if (de->hidden)
				continue;
			name = de->name;
			ino = de->ino;
			type = de->type;
		}
		n = ovl_dir_emit(req, ofs, node, plus, buf + len, size - len,
				 name, ino, type, i + 1);
		if (!n)
			break;
		len += n;
	}
	*ret_len = len;
	return 0;
}

static void ovl_dir_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi, bool plus)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct ovl_handle *h = (struct ovl_handle *)(uintptr_t)fi->fh;
	struct ovl_node *node = ovl_node(req, ino);
	size_t len = 0;
	char *buf;
	int r;

	/* On the reader: a bounded number of lookups (ovl_dir_read_quick). */
	if (plus && size > OVL_DIR_INLINE_PLUS && !ovl_req_may_block())
		size = OVL_DIR_INLINE_PLUS;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&h->dir->lock);
	if (h->dir->dp && off == 0 && !ovl_dir_streams(node)) {
		/* Copied up since opendir: rewinddir must show the merge. */
		closedir(h->dir->dp);
		__atomic_store_n(&h->dir->dp, NULL, __ATOMIC_RELAXED);
	}
	if (h->dir->dp)
		r = ovl_dir_fill_stream(req, ofs, node, h->dir, plus, buf, size,
					off, &len);
	else
		r = ovl_dir_fill_merged(req, ofs, node, h->dir, plus, buf, size,
					off, &len);
	pthread_mutex_unlock(&h->dir->lock);
	ovl_dbg(ofs, "readdir%s(%lu, %zu, %lld) = %d, %zu bytes",
		plus ? "plus" : "", (unsigned long)ino, size, (long long)off, r,
		len);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

/**
 * ovl_op_readdir - FUSE readdir: list a directory
 * @req: the request
 * @ino: node id of the object
 * @size: size the kernel asked for
 * @off: offset to start at
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	ovl_dir_read(req, ino, size, off, fi, false);
}

/**
 * ovl_op_readdirplus - FUSE readdirplus: list a directory with attributes (takes lookups)
 * @req: the request
 * @ino: node id of the object
 * @size: size the kernel asked for
 * @off: offset to start at
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	ovl_dir_read(req, ino, size, off, fi, true);
}

/**
 * ovl_op_releasedir_handle - free a directory handle and its listing
 * @ofs: the mount
 * @h: the handle from opendir (or open: a file handle has no listing)
 */
void ovl_op_releasedir_handle(struct ovl_fs *ofs, struct ovl_handle *h)
{
	if (h->dir) {
		if (h->dir->dp)
			closedir(h->dir->dp);
		ovl_dir_clear(h->dir);
		pthread_mutex_destroy(&h->dir->lock);
		free(h->dir);
	}
	ovl_handle_free(ofs, h);
}

/**
 * ovl_op_releasedir - FUSE releasedir: free a directory handle
 * @req: the request
 * @ino: node id of the object
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);

	ovl_dbg(ofs, "releasedir(%lu)", (unsigned long)ino);
	ovl_op_releasedir_handle(ofs, (struct ovl_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static int ovl_do_fsyncdir(struct ovl_fs *ofs, struct ovl_node *node,
			   int datasync)
{
	int fd, ufd, r;

	/* 1: not volatile, do a real sync; 0: volatile and clean; <0: error */
	r = ovl_sync_status(ofs);
	if (r <= 0)
		return r;
	r = ovl_fault(ofs, OVL_FAULT_FSYNC);
	if (r < 0)
		return r;
	ufd = ovl_node_upper(node);
	if (ufd < 0)
		return 0;
	fd = openat(ufd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = datasync ? fdatasync(fd) : fsync(fd);
	if (r < 0)
		r = -errno;
	close(fd);
	return r;
}

/**
 * ovl_op_fsyncdir - FUSE fsyncdir: fsync a directory (volatile rules)
 * @req: the request
 * @ino: node id of the object
 * @datasync: sync data only
 * @fi: open file information; fi->fh is the struct ovl_handle
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct ovl_fs *ofs = ovl_fs(req);
	int r;

	r = ovl_do_fsyncdir(ofs, ovl_node(req, ino), datasync);
	ovl_dbg(ofs, "fsyncdir(%lu, %d) = %d", (unsigned long)ino, datasync, r);
	fuse_reply_err(req, -r);
}
