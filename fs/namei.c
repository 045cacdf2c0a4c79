// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lookup through the layers, and the in-memory node tree.
 *
 * Every object the kernel knows is a struct ovl_node; its address is
 * the FUSE node id (the root answers to FUSE_ROOT_ID), stable for as
 * long as the kernel holds a lookup on it. Nodes form a dentry-like
 * tree: each holds a reference on its parent and its name, and live
 * nodes are hashed by (parent, name) so a repeated lookup finds the
 * same node and copy-up can walk the parent chain.
 *
 * A directory node keeps O_PATH fds on its real directories: the upper
 * one (if any) and the lower ones that merge into it (top-most first,
 * cut at the first opaque one). A non-directory keeps no fd: it is
 * reached as (parent's real directory fd, name), resolved under the
 * tree lock with renames excluded (ovl_real_get()), so the daemon's
 * open fds follow the directories the kernel knows, not every file.
 * Only a non-directory whose name goes away while the kernel still
 * knows it (unlink, rename over it) is pinned with its own O_PATH fd.
 * Everything is *at() relative to directory fds, so renames of real
 * parents never invalidate anything.
 *
 * Lookup rules (kernel overlayfs): the top-most entry wins; a 0/0
 * char-device whiteout hides what lies below; an opaque directory
 * stops the descent; a non-directory hides everything below it, and a
 * directory merges only with directories below it. A directory with a
 * redirect (renamed with redirect_dir=on) merges with the directories
 * the redirect names instead of those of its own name: another name in
 * the parent's lower directories, or an absolute path walked from each
 * lower layer's root.
 *
 * A node is freed when the kernel forgot every lookup (forget and
 * forget_multi only) and no child or open handle refers to it.
 * Locking: see ovl_entry.h; tree_lock guards the table and the links.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ovl.h"

#define OVL_HASH_MIN 1024

static size_t ovl_hash(const struct ovl_node *parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uintptr_t)parent;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static struct ovl_node *ovl_node_alloc(mode_t type, unsigned int nr_lower)
{
	struct ovl_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	if (nr_lower) {
		n->lower = calloc(nr_lower, sizeof(*n->lower));
		if (!n->lower) {
			free(n);
			return NULL;
		}
	}
	n->type = type;
	n->upper_fd = -1;
	n->pin_fd = -1;
	n->data_fd = -1;
	pthread_mutex_init(&n->lock, NULL);
	return n;
}

static void ovl_node_free(struct ovl_node *n)
{
	if (n->upper_fd >= 0)
		close(n->upper_fd);
	if (n->pin_fd >= 0)
		close(n->pin_fd);
	if (n->data_fd >= 0)
		close(n->data_fd);
	for (unsigned int i = 0; i < n->nr_lower; i++)
		if (n->lower[i].fd >= 0)
			close(n->lower[i].fd);
	pthread_mutex_destroy(&n->lock);
	free(n->lower);
	free(n->redirect);
	free(n->name);
	free(n);
}

/* Caller holds tree_lock. */
static void ovl_hash_remove(struct ovl_fs *ofs, struct ovl_node *node)
{
	struct ovl_node **pp;

	if (!node->hashed)
		return;
	pp = &ofs->hash[ovl_hash(node->parent, node->name) &
			(ofs->hash_size - 1)];
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == node) {
			*pp = node->hnext;
			break;
		}
	}
	node->hnext = NULL;
	node->hashed = false;
	ofs->hash_count--;
}

/* Caller holds tree_lock. */
static struct ovl_node *ovl_hash_find(struct ovl_fs *ofs,
				      struct ovl_node *parent, const char *name)
{
	struct ovl_node *n;

	n = ofs->hash[ovl_hash(parent, name) & (ofs->hash_size - 1)];
	for (; n; n = n->hnext)
		if (n->parent == parent && !strcmp(n->name, name))
			return n;
	return NULL;
}

/*
 * The node hashed as (@parent, @name) with one more kernel lookup
 * (@lookup) or one more reference (else), or NULL. Takes tree_lock.
 */
static struct ovl_node *ovl_hash_get(struct ovl_fs *ofs,
				     struct ovl_node *parent, const char *name,
				     bool lookup)
{
	struct ovl_node *n;

	pthread_mutex_lock(&ofs->tree_lock);
	n = ovl_hash_find(ofs, parent, name);
	if (n && lookup)
		n->nlookup++;
	else if (n)
		n->refs++;
	pthread_mutex_unlock(&ofs->tree_lock);
	return n;
}

/* Caller holds tree_lock. Growth failure keeps the old (longer) chains. */
static void ovl_hash_insert(struct ovl_fs *ofs, struct ovl_node *node)
{
	size_t b;

	if (ofs->hash_count >= ofs->hash_size * 2) {
		size_t nsize = ofs->hash_size * 2;
		struct ovl_node **nh = calloc(nsize, sizeof(*nh));

		if (nh) {
			for (size_t i = 0; i < ofs->hash_size; i++) {
				struct ovl_node *n = ofs->hash[i], *next;

				for (; n; n = next) {
					next = n->hnext;
					b = ovl_hash(n->parent, n->name) &
					    (nsize - 1);
					n->hnext = nh[b];
					nh[b] = n;
				}
			}
			free(ofs->hash);
			ofs->hash = nh;
			ofs->hash_size = nsize;
		}
	}
	b = ovl_hash(node->parent, node->name) & (ofs->hash_size - 1);
	node->hnext = ofs->hash[b];
	ofs->hash[b] = node;
	node->hashed = true;
	ofs->hash_count++;
}

/* Caller holds tree_lock. */
static struct ovl_node **ovl_ihash_slot(struct ovl_fs *ofs, ino_t ino)
{
	size_t n = sizeof(ofs->ihash) / sizeof(ofs->ihash[0]);

	return &ofs->ihash[(ino ^ (ino >> 17)) % n];
}

/* Caller holds tree_lock. */
static void ovl_ihash_remove(struct ovl_fs *ofs, struct ovl_node *node)
{
	struct ovl_node **pp;

	if (!node->ihashed)
		return;
	for (pp = ovl_ihash_slot(ofs, node->uino); *pp; pp = &(*pp)->ihnext) {
		if (*pp == node) {
			*pp = node->ihnext;
			break;
		}
	}
	node->ihnext = NULL;
	node->ihashed = false;
}

/* Caller holds tree_lock. */
static struct ovl_node *ovl_ihash_find(struct ovl_fs *ofs, ino_t ino,
				       mode_t type)
{
	struct ovl_node *n;

	for (n = *ovl_ihash_slot(ofs, ino); n; n = n->ihnext)
		if (n->uino == ino && n->type == type)
			return n;
	return NULL;
}

/* Caller holds tree_lock. */
static void ovl_ihash_insert(struct ovl_fs *ofs, struct ovl_node *node)
{
	struct ovl_node **slot = ovl_ihash_slot(ofs, node->uino);

	node->ihnext = *slot;
	*slot = node;
	node->ihashed = true;
}

/* Caller holds tree_lock. */
static void ovl_all_remove(struct ovl_fs *ofs, struct ovl_node *n)
{
	if (n->all_prev)
		n->all_prev->all_next = n->all_next;
	else if (ofs->all == n)
		ofs->all = n->all_next;
	if (n->all_next)
		n->all_next->all_prev = n->all_prev;
	n->all_prev = n->all_next = NULL;
}

/*
 * Makes @n a child of @parent with one kernel lookup, in ofs->all.
 * Caller holds tree_lock.
 */
static void ovl_node_attach(struct ovl_fs *ofs, struct ovl_node *n,
			    struct ovl_node *parent)
{
	n->parent = parent;
	parent->refs++;
	n->nlookup = 1;
	n->all_next = ofs->all;
	if (ofs->all)
		ofs->all->all_prev = n;
	ofs->all = n;
}

/*
 * Drops nodes that nobody refers to any more, walking up the parents
 * whose last reference went away. Caller holds tree_lock; the freeing
 * (close) happens after it is released.
 */
static struct ovl_node *ovl_node_reap(struct ovl_fs *ofs, struct ovl_node *n)
{
	struct ovl_node *dead = NULL;

	while (n && n != ofs->root && !n->nlookup && !n->refs) {
		struct ovl_node *p = n->parent;

		ovl_hash_remove(ofs, n);
		ovl_ihash_remove(ofs, n);
		ovl_all_remove(ofs, n);
		n->hnext = dead;
		dead = n;
		n = p;
		if (n)
			n->refs--;
	}
	return dead;
}

static void ovl_node_free_list(struct ovl_node *dead)
{
	while (dead) {
		struct ovl_node *next = dead->hnext;

		ovl_node_free(dead);
		dead = next;
	}
}

/**
 * ovl_node_get - take a reference that keeps @node alive (open handles)
 * @ofs: the mount
 * @node: the node
 */
void ovl_node_get(struct ovl_fs *ofs, struct ovl_node *node)
{
	pthread_mutex_lock(&ofs->tree_lock);
	node->refs++;
	pthread_mutex_unlock(&ofs->tree_lock);
}

/**
 * ovl_node_put - drop a reference from ovl_node_get() or ovl_node_name()
 * @ofs: the mount
 * @node: the node; may be freed
 */
void ovl_node_put(struct ovl_fs *ofs, struct ovl_node *node)
{
	struct ovl_node *dead;

	pthread_mutex_lock(&ofs->tree_lock);
	node->refs--;
	dead = ovl_node_reap(ofs, node);
	pthread_mutex_unlock(&ofs->tree_lock);
	ovl_node_free_list(dead);
}

/**
 * ovl_node - the node behind a FUSE node id
 * @req: the request
 * @ino: node id the kernel sent
 *
 * Return: the node (the kernel only sends ids it was given).
 */
struct ovl_node *ovl_node(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return ovl_fs(req)->root;
	return (struct ovl_node *)(uintptr_t)ino;
}

/**
 * ovl_node_ino - the FUSE node id of @node
 * @ofs: the mount
 * @node: the node
 *
 * Return: FUSE_ROOT_ID for the root, the address otherwise.
 */
fuse_ino_t ovl_node_ino(struct ovl_fs *ofs, struct ovl_node *node)
{
	if (node == ofs->root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)node;
}

/**
 * ovl_node_has_upper - does @node have an upper object?
 * @node: the node
 *
 * Return: true once copied up or created.
 */
bool ovl_node_has_upper(struct ovl_node *node)
{
	return __atomic_load_n(&node->upper, __ATOMIC_ACQUIRE);
}

/**
 * ovl_node_has_upperdata - does @node's upper object hold its data?
 * @node: the node
 *
 * Return: true once copied up or created, unless the upper is a
 * metacopy file whose data is still in a lower layer.
 */
bool ovl_node_has_upperdata(struct ovl_node *node)
{
	return ovl_node_has_upper(node) &&
	       !__atomic_load_n(&node->metacopy, __ATOMIC_ACQUIRE);
}

/**
 * ovl_node_open_data - open the lower data file of a metacopy node
 * @node: a node found as a metacopy file (node->data_fd is open)
 * @flags: open flags
 *
 * Return: a new fd (O_CLOEXEC), or -errno.
 */
int ovl_node_open_data(struct ovl_node *node, int flags)
{
	char p[OVL_PROC_PATH_MAX];
	int fd = open(ovl_proc_path(p, node->data_fd), flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/**
 * ovl_node_upper - the upper O_PATH fd of a directory node
 * @node: a directory node
 *
 * Return: the fd, or -1 while the directory has no upper.
 */
int ovl_node_upper(struct ovl_node *node)
{
	if (!ovl_node_has_upper(node))
		return -1;
	return node->upper_fd;
}

/**
 * ovl_node_real - the top-most real directory of a directory node
 * @node: a directory node
 * @ret_layer: 0 for the upper, else the lower layer index
 *
 * Return: its O_PATH fd.
 */
int ovl_node_real(struct ovl_node *node, unsigned int *ret_layer)
{
	int fd = ovl_node_upper(node);

	if (fd >= 0 || !node->nr_lower) {
		*ret_layer = 0;
		return fd;
	}
	*ret_layer = node->lower[0].layer;
	return node->lower[0].fd;
}

/**
 * ovl_node_name - copy the current name and parent of @node
 * @ofs: the mount
 * @node: a node other than the root
 * @ret_parent: its parent, with a reference (ovl_node_put() it)
 *
 * Return: a malloc'd copy of the name, or NULL (out of memory).
 */
char *ovl_node_name(struct ovl_fs *ofs, struct ovl_node *node,
		    struct ovl_node **ret_parent)
{
	char *name;

	pthread_mutex_lock(&ofs->tree_lock);
	name = strdup(node->name);
	if (name) {
		node->parent->refs++;
		*ret_parent = node->parent;
	}
	pthread_mutex_unlock(&ofs->tree_lock);
	return name;
}

/* Is there a fuse-overlayfs ".wh.NAME" whiteout of @name in @dirfd? */
static bool ovl_lookup_wh_file(int dirfd, const char *name)
{
	char buf[NAME_MAX + 8];
	struct stat st;

	if (strlen(name) > NAME_MAX - 4)
		return false;
	snprintf(buf, sizeof(buf), ".wh.%s", name);
	return fstatat(dirfd, buf, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * Where a lookup goes below the layer just searched (the kernel's
 * ovl_lookup_data): @path is the name, or the redirect being followed,
 * either one name in the parent's lower directories or an absolute
 * path ("/a/b") from each lower layer's root.
 */
struct ovl_lookup_data {
	const char *path; /* the name, n->redirect or @buf */
	char *buf; /* malloc'd, or NULL */
	bool stop; /* nothing below may merge */
	unsigned int next_layer; /* where an absolute @path is walked next */
	struct stat top; /* the top-most object found, in layer @top_layer */
	unsigned int top_layer;
};

/*
 * Reads the redirect of @at in @dirfd (ovl_get_redirect()); with
 * redirect_dir=nofollow one met is an error, as in the kernel.
 */
static int ovl_lookup_get_redirect(struct ovl_fs *ofs, int dirfd,
				   const char *at, const char *name, char **ret)
{
	int r = ovl_get_redirect(ofs, dirfd, at, name, ret);

	if (r < 0 || !*ret || ofs->config.redirect != OVL_REDIRECT_NOFOLLOW)
		return r;
	free(*ret);
	*ret = NULL;
	ovl_log(LOG_ERR,
		"refusing to follow the redirect of '%s' "
		"(redirect_dir=nofollow): EPERM",
		name);
	return -EPERM;
}

/*
 * Applies the redirect @r (malloc'd; consumed) of the directory found
 * as the component of d->path at @at (@len bytes): an absolute one
 * replaces the path up to that component, a relative one only that
 * component; what follows it is kept (the kernel's
 * ovl_check_redirect()).
 */
static int ovl_lookup_redirect(struct ovl_lookup_data *d, size_t at, size_t len,
			       char *r)
{
	const char *post = d->path + at + len;
	char *p;
	int n;

	if (r[0] == '/') {
		n = asprintf(&p, "%s%s", r, post);
		d->stop = false; /* an opaque ancestor no longer applies */
	} else {
		n = asprintf(&p, "%.*s%s%s", (int)at, d->path, r, post);
	}
	free(r);
	if (n < 0)
		return -ENOMEM;
	free(d->buf);
	d->buf = p;
	d->path = p;
	return 0;
}

/*
 * Walks the directories of the absolute d->path above its last
 * component in the lower layer whose root is @root. Returns an O_PATH
 * fd of the last directory (the caller closes it) and its offset in
 * d->path in *ret_at, -ENOENT when the path is not in this layer, or
 * -errno. A whiteout or non-directory on the way ends the lookup
 * below too; opaque directories and redirects on the way apply as for
 * the last component, except in the bottom layer.
 */
static int ovl_lookup_walk(struct ovl_fs *ofs, int root, bool bottom,
			   struct ovl_lookup_data *d, size_t *ret_at)
{
	size_t at = 1;
	int fd = openat(root, ".", O_PATH | O_CLOEXEC), nfd, opaque, r;
	char comp[NAME_MAX + 1], *red;
	struct stat st;

	if (fd < 0)
		return -errno;
	for (;;) {
		const char *s = d->path + at;
		size_t len = (size_t)(strchrnul(s, '/') - s);

		if (!s[len]) {
			*ret_at = at;
			return fd;
		}
		r = -ENOENT;
		if (len > NAME_MAX)
			break;
		memcpy(comp, s, len);
		comp[len] = '\0';
		nfd = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			if (errno != ENOENT)
				r = -errno;
			else if (ovl_lookup_wh_file(fd, comp))
				d->stop = true;
			break;
		}
		close(fd);
		fd = nfd;
		if (fstat(fd, &st) < 0) {
			r = -errno;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			d->stop = true; /* a whiteout or a non-directory */
			break;
		}
		at += len + 1;
		if (bottom)
			continue;
		r = ovl_get_opaque(ofs, fd, &opaque);
		if (r == 0 && opaque) {
			d->stop = true;
			continue;
		}
		if (r == 0)
			r = ovl_lookup_get_redirect(ofs, fd, ".", comp, &red);
		if (r < 0)
			break;
		if (red) {
			size_t post = strlen(d->path) - (at - 1);

			r = ovl_lookup_redirect(d, at - len - 1, len, red);
			if (r < 0)
				break;
			at = strlen(d->path) - post + 1;
		}
	}
	close(fd);
	return r;
}

/* Appends a lower directory to @n, growing n->lower when needed. */
static int ovl_lookup_add_lower(struct ovl_fs *ofs, struct ovl_node *n,
				unsigned int *cap, int fd_dir, const char *name,
				unsigned int layer)
{
	int fd;

	if (n->nr_lower == *cap) {
		unsigned int ncap = ofs->config.nr_lower;
		struct ovl_path *p;

		if (n->nr_lower >= ncap)
			return -EIO;
		p = realloc(n->lower, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		n->lower = p;
		*cap = ncap;
	}
	fd = openat(fd_dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n->lower[n->nr_lower].fd = fd;
	n->lower[n->nr_lower].layer = layer;
	n->nr_lower++;
	return 0;
}

/*
 * A regular file found at @name in @dirfd (layer @layer, 0 = upper;
 * component of d->path at @at) while looking up @n: a metacopy file
 * makes the lookup go on below, under the name or path its
 * overlay.redirect gives if it has one (the kernel's rules). Sets
 * n->metacopy. Returns 1 for a metacopy file, 0 for another, -EPERM
 * with userxattr (never followed then, as redirects), or -errno.
 */
static int ovl_lookup_metacopy(struct ovl_fs *ofs, int dirfd, const char *name,
			       struct ovl_node *n, struct ovl_lookup_data *d,
			       size_t at, unsigned int layer)
{
	int r, metacopy, no_caps;
	char *red = NULL;

	r = ovl_file_xattrs(ofs, dirfd, name, &metacopy, &no_caps);
	if (r < 0)
		return r;
	if (!n->metacopy)
		n->no_caps = no_caps; /* of the file that gives the metadata */
	if (!metacopy)
		return 0;
	/* As the kernel: the layers' owner could plant user.overlay.* */
	if (ofs->config.userxattr) {
		ovl_log(LOG_ERR,
			"refusing to follow the metacopy file '%s' "
			"(userxattr): EPERM",
			name);
		return -EPERM;
	}
	n->metacopy = true;
	d->stop = false;
	r = ovl_lookup_get_redirect(ofs, dirfd, name, name, &red);
	if (r >= 0 && red) {
		if (red[0] == '/')
			d->next_layer = layer + 1;
		r = ovl_lookup_redirect(d, at, strlen(name), red);
	}
	return r < 0 ? r : 1;
}

/*
 * Looks for the data of the metacopy node @n at @name in the lower
 * directory @lfd (layer @layer): a regular file without the metacopy
 * mark ends the search (n->data_fd), another metacopy file goes on
 * below it, anything else ends the search without data. Returns 0 to
 * go on, 1 to stop, or -errno.
 */
static int ovl_lookup_data_file(struct ovl_fs *ofs, int lfd, const char *name,
				struct ovl_node *n, struct ovl_lookup_data *d,
				size_t at, unsigned int layer)
{
	struct stat st;
	int fd, r;

	if (fstatat(lfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
		return ovl_lookup_wh_file(lfd, name) ? 1 : 0;
	}
	if (!S_ISREG(st.st_mode))
		return 1; /* a whiteout, directory or special file */
	r = ovl_lookup_metacopy(ofs, lfd, name, n, d, at, layer);
	if (r != 0)
		return r < 0 ? r : 0; /* another metacopy: go on below */
	fd = openat(lfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n->data_fd = fd;
	n->data_layer = layer;
	return 1;
}

/* The upper part of a lookup: fills @n, sets *type and @d. */
static int ovl_lookup_upper(struct ovl_fs *ofs, int ufd, const char *name,
			    struct ovl_node *n, mode_t *type,
			    struct ovl_lookup_data *d)
{
	struct stat st;
	int opaque, r;

	if (fstatat(ufd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
		return ovl_lookup_wh_file(ufd, name) ? -ENOENT : 0;
	}
	if (ovl_is_whiteout(&st))
		return -ENOENT;
	n->upper = true;
	d->top = st;
	*type = st.st_mode & S_IFMT;
	if (!S_ISDIR(*type)) {
		if (st.st_nlink > 1)
			n->uino = st.st_ino;
		d->stop = true;
		ovl_origin_get(ofs, ufd, name, *type, &n->origin_ino,
			       &n->origin_layer);
		if (!S_ISREG(*type))
			return 0;
		r = ovl_lookup_metacopy(ofs, ufd, name, n, d, 0, 0);
		return r < 0 ? r : 0;
	}
	n->upper_fd = openat(ufd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (n->upper_fd < 0)
		return -errno;
	r = ovl_get_opaque(ofs, n->upper_fd, &opaque);
	if (r < 0 || opaque) {
		d->stop = true;
		return r;
	}
	r = ovl_lookup_get_redirect(ofs, n->upper_fd, ".", name, &n->redirect);
	if (r == 0 && n->redirect)
		d->path = n->redirect;
	return r;
}

/**
 * ovl_lookup_real - look @name up in the real layers under @parent
 * @ofs: the mount
 * @parent: the merged parent directory
 * @name: the name
 * @ret: a new, unhashed node (nlookup 0, no parent yet)
 * @ret_st: if not NULL, the merged attributes of the object as the
 *          lookup found it
 *
 * Directories renamed with redirect_dir=on carry a redirect: their
 * lower parts are found under the name or absolute path it gives
 * (followed unless redirect_dir=nofollow; the kernel's rules, also for
 * redirects in lower layers that were once upper layers).
 *
 * Return: 0, -ENOENT, -EIO (bad or unsupported on-disk content),
 * -EPERM (a redirect and redirect_dir=nofollow), -errno.
 */
int ovl_lookup_real(struct ovl_fs *ofs, struct ovl_node *parent,
		    const char *name, struct ovl_node **ret,
		    struct stat *ret_st)
{
	struct ovl_lookup_data d = {.path = name, .next_layer = 1};
	unsigned int cap = parent->nr_lower, i = 0;
	unsigned int nr_layers = ofs->config.nr_lower;
	struct ovl_node *n;
	int ufd = ovl_node_upper(parent), opaque = 0, r = 0;
	mode_t type = 0;
	struct stat st;

	if (!S_ISDIR(parent->type))
		return -ENOTDIR;
	if (ovl_name_is_private(name))
		return -ENOENT;
	n = ovl_node_alloc(0, parent->nr_lower);
	if (!n)
		return -ENOMEM;
	if (ufd >= 0)
		r = ovl_lookup_upper(ofs, ufd, name, n, &type, &d);
	while (r == 0 && !d.stop) {
		int lfd, walked = -1;
		unsigned int layer, slot = 0;
		mode_t was = type;
		size_t at = 0;
		const char *nm;

		if (d.path[0] == '/') {
			/* An absolute redirect: from the roots below. */
			if (d.next_layer > nr_layers)
				break;
			layer = d.next_layer++;
			walked = ovl_lookup_walk(ofs, ofs->lower_fds[layer - 1],
						 layer == nr_layers, &d, &at);
			if (walked == -ENOENT)
				continue;
			if (walked < 0) {
				r = walked;
				break;
			}
			lfd = walked;
		} else {
			if (i >= parent->nr_lower)
				break;
			slot = i++;
			lfd = parent->lower[slot].fd;
			layer = parent->lower[slot].layer;
		}
		nm = d.path + at;
		r = 1; /* end the descent unless cleared below */
		if (n->metacopy) {
			/* The data of a metacopy file above. */
			r = ovl_lookup_data_file(ofs, lfd, nm, n, &d, at,
						 layer);
		} else if (fstatat(lfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				r = -errno;
			else if (!ovl_lookup_wh_file(lfd, nm))
				r = 0;
		} else if (ovl_is_whiteout(&st)) {
			/* hides what lies below */
		} else if (type && !S_ISDIR(st.st_mode)) {
			/* a directory above hides this non-directory */
		} else if (!S_ISDIR(st.st_mode)) {
			/* The top-most object; reached by name later. */
			r = S_ISREG(st.st_mode)
				    ? ovl_lookup_metacopy(ofs, lfd, nm, n, &d,
							  at, layer)
				    : 0;
			n->lower[0].fd = -1;
			n->lower[0].layer = layer;
			n->nr_lower = 1;
			n->lower_slot = slot;
			/*
			 * Lower hard links may be copied up to different
			 * upper files: then they must not share a number
			 * (the kernel's rule too).
			 */
			if (st.st_nlink == 1) {
				n->origin_ino = st.st_ino;
				n->origin_layer = layer;
			}
			type = st.st_mode & S_IFMT;
			if (r >= 0)
				r = !r; /* stop, unless its data is below */
		} else {
			int fd;
			char *red = NULL;

			type = S_IFDIR;
			r = ovl_lookup_add_lower(ofs, n, &cap, lfd, nm, layer);
			fd = r == 0 ? n->lower[n->nr_lower - 1].fd : -1;
			if (r == 0 && layer < nr_layers)
				r = ovl_get_opaque(ofs, fd, &opaque);
			if (r == 0 && layer < nr_layers && !opaque)
				r = ovl_lookup_get_redirect(ofs, fd, ".", nm,
							    &red);
			if (r == 0 && red) {
				r = ovl_lookup_redirect(&d, at, strlen(nm),
							red);
				d.next_layer = layer + 1;
			}
			if (opaque)
				r = 1;
		}
		if (!was && type) {
			d.top = st; /* the first object found */
			d.top_layer = layer;
		}
		if (walked >= 0)
			close(walked);
		if (r == 1) {
			r = 0;
			break;
		}
	}
	free(d.buf);
	if (r == 0 && !type)
		r = -ENOENT;
	if (r == 0 && n->metacopy && n->data_fd < 0) {
		ovl_log(LOG_ERR,
			"metacopy file '%s' has no data in the lower layers: "
			"EIO",
			name);
		r = -EIO;
	}
	if (r < 0) {
		ovl_node_free(n);
		return r;
	}
	n->type = type;
	/* Only a directory with an upper can hide lowers it does not have. */
	n->opaque = S_ISDIR(type) && n->upper && !n->nr_lower;
	if (ret_st) {
		*ret_st = d.top;
		ovl_node_attr(ofs, n, ret_st, d.top_layer);
	}
	*ret = n;
	return 0;
}

/**
 * ovl_lower_exists - does a lower layer show @name under @parent?
 * @ofs: the mount
 * @parent: merged parent directory
 * @name: the name
 *
 * Decides whether removing @name must leave a whiteout.
 *
 * Return: 1 yes, 0 no, -errno.
 */
int ovl_lower_exists(struct ovl_fs *ofs, struct ovl_node *parent,
		     const char *name)
{
	struct stat st;

	for (unsigned int i = 0; i < parent->nr_lower; i++) {
		int lfd = parent->lower[i].fd;

		if (fstatat(lfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return -errno;
			if (ovl_lookup_wh_file(lfd, name))
				return 0;
			continue;
		}
		return !ovl_is_whiteout(&st);
	}
	return 0;
}

static void ovl_entry_fill(struct ovl_fs *ofs, struct ovl_node *node,
			   struct fuse_entry_param *e)
{
	e->ino = ovl_node_ino(ofs, node);
	ovl_attr_shown(ofs, &e->attr);
	e->attr_timeout = ofs->config.timeout;
	e->entry_timeout = ofs->config.timeout;
}

/*
 * Hashes @n as (@parent, @name) with one lookup, or takes the node a
 * racing lookup hashed first (then @n is freed and *@ret_hashed, if
 * given, is false). Returns the node.
 */
static struct ovl_node *ovl_node_hash_new(struct ovl_fs *ofs,
					  struct ovl_node *parent,
					  const char *name, struct ovl_node *n,
					  bool replace, bool *ret_hashed)
{
	struct ovl_node *old, *dead = NULL;

	pthread_mutex_lock(&ofs->tree_lock);
	old = ovl_hash_find(ofs, parent, name);
	/* Another name of a hard-linked upper inode: the same node. */
	if (!old && !replace && n->uino)
		old = ovl_ihash_find(ofs, n->uino, n->type);
	if (ret_hashed)
		*ret_hashed = !old || replace;
	if (old && !replace) {
		old->nlookup++;
		pthread_mutex_unlock(&ofs->tree_lock);
		ovl_node_free(n);
		return old;
	}
	if (old) {
		ovl_hash_remove(ofs, old);
		dead = ovl_node_reap(ofs, old);
	}
	ovl_node_attach(ofs, n, parent);
	ovl_hash_insert(ofs, n);
	if (n->uino)
		ovl_ihash_insert(ofs, n);
	pthread_mutex_unlock(&ofs->tree_lock);
	ovl_node_free_list(dead);
	return n;
}

/**
 * ovl_node_new_unnamed - a node for an upper object without a name
 * (O_TMPFILE), with one kernel lookup
 * @ofs: the mount
 * @parent: the directory it was made in (kept referenced)
 * @type: its S_IFMT bits
 * @pin: O_PATH fd of the object; the node owns it on success
 * @e: entry to fill
 *
 * The node is never hashed: no name finds it. A later link() gives it
 * one (ovl_node_set_linked()).
 *
 * Return: 0 or -errno (@pin is not closed then).
 */
int ovl_node_new_unnamed(struct ovl_fs *ofs, struct ovl_node *parent,
			 mode_t type, int pin, struct fuse_entry_param *e)
{
	struct ovl_node *n = ovl_node_alloc(type, 0);
	int r;

	if (!n)
		return -ENOMEM;
	n->name = strdup("/");
	if (!n->name) {
		ovl_node_free(n);
		return -ENOMEM;
	}
	n->upper = true;
	n->pin_fd = pin;
	n->pin_layer = 0;
	pthread_mutex_lock(&ofs->tree_lock);
	ovl_node_attach(ofs, n, parent);
	pthread_mutex_unlock(&ofs->tree_lock);
	r = ovl_node_stat(ofs, n, &e->attr);
	if (r < 0) {
		n->pin_fd = -1; /* the caller still owns it */
		ovl_op_forget_one(ofs, n, 1);
		return r;
	}
	ovl_entry_fill(ofs, n, e);
	return 0;
}

/**
 * ovl_do_lookup - look @name up and take one kernel lookup on it
 * @ofs: the mount
 * @parent: merged parent directory
 * @name: the name
 * @e: entry to fill (node id, attributes, timeouts)
 *
 * Return: 0 or -errno (-ENOENT when nothing is visible).
 */
int ovl_do_lookup(struct ovl_fs *ofs, struct ovl_node *parent, const char *name,
		  struct fuse_entry_param *e)
{
	struct ovl_node *n = ovl_hash_get(ofs, parent, name, true);
	bool hashed = false;
	int r = 0;

	if (!n) {
		r = ovl_lookup_real(ofs, parent, name, &n, &e->attr);
		if (r < 0)
			return r;
		n->name = strdup(name);
		if (!n->name) {
			ovl_node_free(n);
			return -ENOMEM;
		}
		n = ovl_node_hash_new(ofs, parent, name, n, false, &hashed);
	}
	/* A new node: the lookup's own stat describes it. */
	if (!hashed)
		r = ovl_node_stat(ofs, n, &e->attr);
	if (r < 0) {
		ovl_op_forget_one(ofs, n, 1);
		return r;
	}
	ovl_entry_fill(ofs, n, e);
	return 0;
}

/**
 * ovl_node_install - hash a newly created upper object as @name
 * @ofs: the mount
 * @parent: its merged parent
 * @name: its name
 * @pufd: the parent's upper directory, where the object was made
 * @dir: the object is a directory (new directories are opaque)
 * @e: entry to fill; the node gets one kernel lookup
 *
 * Any node previously hashed under @name is unhashed: the name now
 * means the new object.
 *
 * Return: 0 or -errno.
 */
int ovl_node_install(struct ovl_fs *ofs, struct ovl_node *parent,
		     const char *name, int pufd, bool dir,
		     struct fuse_entry_param *e)
{
	struct ovl_node *n;
	int ufd = -1, r;

	/* Non-directories are reached by name; see ovl_real_get(). */
	if (dir) {
		ufd = openat(pufd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (ufd < 0)
			return -errno;
	}
	r = 0;
	if (fstatat(dir ? ufd : pufd, dir ? "" : name, &e->attr,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	else if (S_ISDIR(e->attr.st_mode) != dir)
		r = -EIO; /* replaced meanwhile */
	if (r < 0) {
		if (ufd >= 0)
			close(ufd);
		return r;
	}
	n = ovl_node_alloc(e->attr.st_mode & S_IFMT, 0);
	if (n)
		n->name = strdup(name);
	if (!n || !n->name) {
		if (ufd >= 0)
			close(ufd);
		if (n)
			ovl_node_free(n);
		return -ENOMEM;
	}
	n->upper_fd = ufd;
	n->upper = true;
	n->opaque = dir;
	n->no_caps = 1; /* nothing new has a file capability */
	n = ovl_node_hash_new(ofs, parent, name, n, true, NULL);
	ovl_node_attr(ofs, n, &e->attr, 0);
	ovl_entry_fill(ofs, n, e);
	return 0;
}

/**
 * ovl_node_unhash - @node's name no longer refers to it (removed)
 * @ofs: the mount
 * @node: the node
 */
void ovl_node_unhash(struct ovl_fs *ofs, struct ovl_node *node)
{
	pthread_mutex_lock(&ofs->tree_lock);
	ovl_hash_remove(ofs, node);
	pthread_mutex_unlock(&ofs->tree_lock);
}

/**
 * ovl_node_move - record a rename of @node to (@newparent, @newname)
 * @ofs: the mount
 * @node: the renamed node
 * @newparent: its new parent
 * @newname: its new name
 *
 * A node hashed under the target name is unhashed (it was replaced).
 */
void ovl_node_move(struct ovl_fs *ofs, struct ovl_node *node,
		   struct ovl_node *newparent, const char *newname)
{
	struct ovl_node *old, *oldparent, *dead = NULL;
	char *name = strdup(newname);

	pthread_mutex_lock(&ofs->tree_lock);
	old = ovl_hash_find(ofs, newparent, newname);
	if (old && old != node)
		ovl_hash_remove(ofs, old);
	ovl_hash_remove(ofs, node);
	if (!name) {
		/* Cannot record the name: the node stays unhashed. */
		pthread_mutex_unlock(&ofs->tree_lock);
		return;
	}
	oldparent = node->parent;
	newparent->refs++;
	node->parent = newparent;
	free(node->name);
	node->name = name;
	ovl_hash_insert(ofs, node);
	oldparent->refs--;
	dead = ovl_node_reap(ofs, oldparent);
	pthread_mutex_unlock(&ofs->tree_lock);
	ovl_node_free_list(dead);
}

/**
 * ovl_op_forget_one - drop @nlookup kernel lookups of @node
 * @ofs: the mount
 * @node: the node; may be freed
 * @nlookup: lookups to drop
 */
void ovl_op_forget_one(struct ovl_fs *ofs, struct ovl_node *node,
		       uint64_t nlookup)
{
	struct ovl_node *dead;

	pthread_mutex_lock(&ofs->tree_lock);
	if (nlookup > node->nlookup) {
		ovl_dbg(ofs, "forget: count %llu above %llu",
			(unsigned long long)nlookup,
			(unsigned long long)node->nlookup);
		nlookup = node->nlookup;
	}
	node->nlookup -= nlookup;
	dead = ovl_node_reap(ofs, node);
	pthread_mutex_unlock(&ofs->tree_lock);
	ovl_node_free_list(dead);
}

/**
 * ovl_op_lookup - FUSE lookup: look a name up and take a lookup on it
 * @req: the request
 * @parent: node id of the parent directory
 * @name: entry name
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ovl_fs *ofs = ovl_fs(req);
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	r = ovl_do_lookup(ofs, ovl_node(req, parent), name, &e);
	ovl_dbg(ofs, "lookup(%lu, %s) = %d ino %lu", (unsigned long)parent,
		name, r, (unsigned long)e.ino);
	if (r == -ENOENT) {
		/* A negative entry the kernel may cache like a positive one. */
		e.ino = 0;
		e.entry_timeout = ofs->config.timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/**
 * ovl_op_forget - FUSE forget: drop lookups of a node
 * @req: the request
 * @ino: node id of the object
 * @nlookup: lookups to drop
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct ovl_fs *ofs = ovl_fs(req);

	ovl_dbg(ofs, "forget(%lu, %llu)", (unsigned long)ino,
		(unsigned long long)nlookup);
	ovl_op_forget_one(ofs, ovl_node(req, ino), nlookup);
	fuse_reply_none(req);
}

/**
 * ovl_op_forget_multi - FUSE forget_multi: drop lookups of many nodes
 * @req: the request
 * @count: number of entries in @forgets
 * @forgets: node ids and lookup counts
 *
 * Context: libfuse worker thread; replies exactly once.
 */
void ovl_op_forget_multi(fuse_req_t req, size_t count,
			 struct fuse_forget_data *forgets)
{
	struct ovl_fs *ofs = ovl_fs(req);

	for (size_t i = 0; i < count; i++) {
		ovl_dbg(ofs, "forget(%lu, %llu)", (unsigned long)forgets[i].ino,
			(unsigned long long)forgets[i].nlookup);
		ovl_op_forget_one(ofs, ovl_node(req, forgets[i].ino),
				  forgets[i].nlookup);
	}
	fuse_reply_none(req);
}

/**
 * ovl_nodes_init - create the node table and the root node
 * @ofs: the mount, layers already open
 *
 * Return: 0 or -errno.
 */
int ovl_nodes_init(struct ovl_fs *ofs)
{
	struct ovl_node *root;
	unsigned int n = ofs->config.nr_lower;

	pthread_mutex_init(&ofs->tree_lock, NULL);
	pthread_mutex_init(&ofs->handles_lock, NULL);
	pthread_rwlock_init(&ofs->rename_lock, NULL);
	ofs->hash_size = OVL_HASH_MIN;
	ofs->hash = calloc(ofs->hash_size, sizeof(*ofs->hash));
	root = ovl_node_alloc(S_IFDIR, n);
	if (!ofs->hash || !root) {
		free(root);
		return -ENOMEM;
	}
	root->name = strdup("/");
	if (!root->name) {
		ovl_node_free(root);
		return -ENOMEM;
	}
	if (ofs->upper_fd >= 0) {
		root->upper_fd = fcntl(ofs->upper_fd, F_DUPFD_CLOEXEC, 3);
		if (root->upper_fd < 0) {
			int r = -errno;

			ovl_node_free(root);
			return r;
		}
		root->upper = true;
	}
	for (unsigned int i = 0; i < n; i++) {
		root->lower[i].fd =
			fcntl(ofs->lower_fds[i], F_DUPFD_CLOEXEC, 3);
		if (root->lower[i].fd < 0) {
			int r = -errno;

			ovl_node_free(root);
			return r;
		}
		root->lower[i].layer = i + 1;
		root->nr_lower++;
	}
	root->nlookup = 1;
	ofs->root = root;
	return 0;
}

/**
 * ovl_nodes_free - free every node at unmount
 * @ofs: the mount; no request runs any more
 */
void ovl_nodes_free(struct ovl_fs *ofs)
{
	struct ovl_node *n, *next;

	for (n = ofs->all; n; n = next) {
		next = n->all_next;
		ovl_node_free(n);
	}
	ofs->all = NULL;
	free(ofs->hash);
	ofs->hash = NULL;
	if (ofs->root)
		ovl_node_free(ofs->root);
	ofs->root = NULL;
}

/**
 * ovl_node_discard - free a node from ovl_lookup_real() never hashed
 * @node: the node
 */
void ovl_node_discard(struct ovl_node *node)
{
	ovl_node_free(node);
}

/**
 * ovl_node_find - the node hashed as (@parent, @name), with a lookup
 * @ofs: the mount
 * @parent: parent node
 * @name: name
 *
 * Return: the node with one more kernel lookup (drop it with
 * ovl_op_forget_one()), or NULL when no node has that name.
 */
struct ovl_node *ovl_node_find(struct ovl_fs *ofs, struct ovl_node *parent,
			       const char *name)
{
	return ovl_hash_get(ofs, parent, name, true);
}

/**
 * ovl_node_peek - what the node hashed as (@parent, @name) is, if any
 * @ofs: the mount
 * @parent: parent node
 * @name: name
 * @ret_type: output: its file type (S_IFMT bits)
 * @ret_upperdata: output: ovl_node_has_upperdata() of it
 *
 * Takes no reference: the answer may be stale once tree_lock is
 * dropped, which suits a guess about how long a request will take.
 *
 * Return: true when a node has that name.
 */
bool ovl_node_peek(struct ovl_fs *ofs, struct ovl_node *parent,
		   const char *name, mode_t *ret_type, bool *ret_upperdata)
{
	struct ovl_node *n;

	pthread_mutex_lock(&ofs->tree_lock);
	n = ovl_hash_find(ofs, parent, name);
	if (n) {
		*ret_type = n->type;
		*ret_upperdata = ovl_node_has_upperdata(n);
	}
	pthread_mutex_unlock(&ofs->tree_lock);
	return n != NULL;
}

/**
 * ovl_node_entry - take one more kernel lookup on @node and describe it
 * @ofs: the mount
 * @node: the node (a hard link's source: the kernel expects its id)
 * @e: entry to fill
 *
 * Return: 0 or -errno (no lookup taken then).
 */
int ovl_node_entry(struct ovl_fs *ofs, struct ovl_node *node,
		   struct fuse_entry_param *e)
{
	int r = ovl_node_stat(ofs, node, &e->attr);

	if (r < 0)
		return r;
	pthread_mutex_lock(&ofs->tree_lock);
	node->nlookup++;
	pthread_mutex_unlock(&ofs->tree_lock);
	ovl_entry_fill(ofs, node, e);
	return 0;
}

/**
 * ovl_real_get - find the top-most real object of @node
 * @ofs: the mount
 * @node: the node
 * @lock: take ofs->rename_lock for reading (false: the caller holds it)
 * @r: output: @r->dirfd and @r->name name the object for *at() calls
 *     (name "" means dirfd is the object itself: use AT_EMPTY_PATH or
 *     ovl_real_open()); @r->layer is 0 for the upper
 *
 * A non-directory is resolved through its parent's directory and its
 * current name; the rename lock, held until ovl_real_put(), keeps that
 * pair valid. Release with ovl_real_put() in every case.
 *
 * Return: 0 or -errno.
 */
int ovl_real_get(struct ovl_fs *ofs, struct ovl_node *node, bool lock,
		 struct ovl_real *r)
{
	int pin;

	memset(r, 0, sizeof(*r));
	r->name = "";
	if (S_ISDIR(node->type)) {
		r->dirfd = ovl_node_real(node, &r->layer);
		return r->dirfd < 0 ? -EIO : 0;
	}
	pin = __atomic_load_n(&node->pin_fd, __ATOMIC_ACQUIRE);
	if (pin >= 0) {
		r->dirfd = pin;
		r->layer = node->pin_layer;
		return 0;
	}
	if (lock) {
		pthread_rwlock_rdlock(&ofs->rename_lock);
		r->locked = true;
	}
	r->name_buf = ovl_node_name(ofs, node, &r->parent);
	if (!r->name_buf) {
		ovl_real_put(ofs, r);
		return -ENOMEM;
	}
	r->name = r->name_buf;
	if (ovl_node_has_upper(node)) {
		r->dirfd = ovl_node_upper(r->parent);
	} else if (node->nr_lower && node->lower_slot < r->parent->nr_lower) {
		r->dirfd = r->parent->lower[node->lower_slot].fd;
		r->layer = node->lower[0].layer;
	} else {
		r->dirfd = -1;
	}
	if (r->dirfd < 0) {
		ovl_real_put(ofs, r);
		return -EIO;
	}
	return 0;
}

/**
 * ovl_real_put - release what ovl_real_get() took
 * @ofs: the mount
 * @r: the resolution; reset
 */
void ovl_real_put(struct ovl_fs *ofs, struct ovl_real *r)
{
	if (r->parent)
		ovl_node_put(ofs, r->parent);
	free(r->name_buf);
	if (r->locked)
		pthread_rwlock_unlock(&ofs->rename_lock);
	memset(r, 0, sizeof(*r));
	r->dirfd = -1;
	r->name = "";
}

/**
 * ovl_real_open - open the object ovl_real_get() found
 * @r: the resolution
 * @flags: open flags (O_PATH for a handle to the object itself)
 *
 * Return: a new fd (O_CLOEXEC), or -errno.
 */
int ovl_real_open(const struct ovl_real *r, int flags)
{
	char p[OVL_PROC_PATH_MAX];
	int fd;

	if (r->name[0])
		fd = openat(r->dirfd, r->name, flags | O_NOFOLLOW | O_CLOEXEC);
	else if (flags & O_PATH)
		fd = fcntl(r->dirfd, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(ovl_proc_path(p, r->dirfd), flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/**
 * ovl_node_pin - give a non-directory its own fd before its name goes
 * @ofs: the mount
 * @node: the node about to be unlinked or replaced
 *
 * Context: takes ofs->rename_lock for reading, then node->lock (the
 * order of copy-up); call it with neither.
 * Return: 0 or -errno.
 */
int ovl_node_pin(struct ovl_fs *ofs, struct ovl_node *node)
{
	struct ovl_real r;
	int fd = 0, ret;

	if (S_ISDIR(node->type) ||
	    __atomic_load_n(&node->pin_fd, __ATOMIC_ACQUIRE) >= 0)
		return 0;
	/*
	 * Under the node's lock no copy-up of it runs: the pin is the
	 * object the name has now, and a later copy-up sees the pin and
	 * stops (the name is about to go).
	 */
	pthread_rwlock_rdlock(&ofs->rename_lock);
	pthread_mutex_lock(&node->lock);
	if (node->pin_fd < 0) {
		ret = ovl_real_get(ofs, node, false, &r);
		fd = ret < 0 ? ret : ovl_real_open(&r, O_PATH);
		if (fd >= 0) {
			node->pin_layer = r.layer;
			__atomic_store_n(&node->pin_fd, fd, __ATOMIC_RELEASE);
			fd = 0;
		}
		ovl_real_put(ofs, &r);
	}
	pthread_mutex_unlock(&node->lock);
	pthread_rwlock_unlock(&ofs->rename_lock);
	return fd < 0 ? fd : 0;
}

/**
 * ovl_node_inval_attr - make the kernel fetch @node's attributes again
 * @ofs: the mount
 * @node: a node whose attributes changed behind the kernel's back
 *
 * An attribute-only invalidation takes no page or inode lock, so it
 * is safe inside a request.
 */
void ovl_node_inval_attr(struct ovl_fs *ofs, struct ovl_node *node)
{
	if (ofs->se)
		(void)fuse_lowlevel_notify_inval_inode(
			ofs->se, ovl_node_ino(ofs, node), -1, 0);
}

/**
 * ovl_node_removed - a non-directory lost its name (unlink, rename over)
 * @ofs: the mount
 * @node: the pinned node
 *
 * The kernel counts one link less on its own; a lower object keeps its
 * links, as kernel overlayfs shows them through a descriptor still
 * open: have the kernel ask.
 */
void ovl_node_removed(struct ovl_fs *ofs, struct ovl_node *node)
{
	if (__atomic_load_n(&node->pin_fd, __ATOMIC_ACQUIRE) >= 0 &&
	    node->pin_layer)
		ovl_node_inval_attr(ofs, node);
}

/**
 * ovl_node_set_linked - @node's upper inode got another name (link())
 * @ofs: the mount
 * @node: a non-directory node with an upper object
 * @ino: the upper inode number
 *
 * Registers the node so that a later lookup of any other name of the
 * same upper inode returns it: the kernel must see one inode, or it
 * caches data and attributes of each name separately.
 */
void ovl_node_set_linked(struct ovl_fs *ofs, struct ovl_node *node, ino_t ino)
{
	pthread_mutex_lock(&ofs->tree_lock);
	if (!node->ihashed && !ovl_ihash_find(ofs, ino, node->type)) {
		node->uino = ino;
		ovl_ihash_insert(ofs, node);
	}
	pthread_mutex_unlock(&ofs->tree_lock);
}

/**
 * ovl_node_dino - the d_ino readdir shows for an upper non-directory
 * @ofs: the mount
 * @dir: the directory node being listed
 * @name: the entry
 * @type: its d_type
 * @ino: the composed inode number of the real upper entry
 * @impure_fd: the upper directory if it is impure (ovl_dir_impure()),
 *             else -1
 *
 * A copied-up non-directory shows the inode number of its origin (the
 * node's while it lives, else the one its overlay.origin names);
 * readdir must agree with stat.
 *
 * Return: the number to show.
 */
ino_t ovl_node_dino(struct ovl_fs *ofs, struct ovl_node *dir, const char *name,
		    unsigned char type, ino_t ino, int impure_fd)
{
	unsigned int layer = 0;
	ino_t oino = 0;
	struct ovl_node *n;

	pthread_mutex_lock(&ofs->tree_lock);
	n = ovl_hash_find(ofs, dir, name);
	if (n && !S_ISDIR(n->type) && n->origin_ino) {
		oino = n->origin_ino;
		layer = n->origin_layer;
	}
	pthread_mutex_unlock(&ofs->tree_lock);
	if (!n && impure_fd >= 0 && type != DT_UNKNOWN)
		ovl_origin_get(ofs, impure_fd, name, DTTOIF(type), &oino,
			       &layer);
	return oino ? ovl_compose_ino(ofs, layer, oino) : ino;
}

/**
 * ovl_node_lower_dino - the inode number a directory with lower parts
 * shows
 * @ofs: the mount
 * @n: the node
 * @ino: what to show otherwise
 *
 * Return: the composed inode number of the top-most lower part of
 * directory @n, or @ino when @n is no such directory.
 */
ino_t ovl_node_lower_dino(struct ovl_fs *ofs, struct ovl_node *n, ino_t ino)
{
	struct stat st;

	if (!S_ISDIR(n->type) || !n->nr_lower ||
	    fstatat(n->lower[0].fd, "", &st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return ino;
	return ovl_compose_ino(ofs, n->lower[0].layer, st.st_ino);
}

/**
 * ovl_node_dino_dir - the d_ino readdir shows for an upper directory
 * @ofs: the mount
 * @dir: the directory node being listed
 * @name: the entry, a directory in the upper layer
 * @ino: the composed inode number of the real upper entry
 * @impure_fd: the upper directory if it is impure, else -1
 * @ret_redirected: set when the entry is a renamed directory
 *
 * A directory renamed with a redirect shows the inode number of its
 * top-most lower part, as stat does; readdir cannot find that part by
 * name. A redirect marks the new parent impure, so only impure
 * directories are looked at.
 *
 * Return: the number to show.
 */
ino_t ovl_node_dino_dir(struct ovl_fs *ofs, struct ovl_node *dir,
			const char *name, ino_t ino, int impure_fd,
			bool *ret_redirected)
{
	struct ovl_node *n;
	char *red = NULL;
	int r;

	*ret_redirected = false;
	if (impure_fd < 0)
		return ino;
	n = ovl_hash_get(ofs, dir, name, false);
	if (n) {
		/* n->redirect is only replaced under rename_lock. */
		pthread_rwlock_rdlock(&ofs->rename_lock);
		if (S_ISDIR(n->type) && n->redirect) {
			*ret_redirected = true;
			ino = ovl_node_lower_dino(ofs, n, ino);
		}
		pthread_rwlock_unlock(&ofs->rename_lock);
		ovl_node_put(ofs, n);
		return ino;
	}
	/* The listing said directory; its redirect, by name. */
	r = ovl_get_redirect(ofs, impure_fd, name, name, &red);
	if (r < 0 || !red)
		return ino;
	free(red);
	*ret_redirected = true;
	if (ovl_lookup_real(ofs, dir, name, &n, NULL) == 0) {
		ino = ovl_node_lower_dino(ofs, n, ino);
		ovl_node_free(n);
	}
	return ino;
}
