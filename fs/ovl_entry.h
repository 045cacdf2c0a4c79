/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Core structures of the errovl daemon.
 *
 * Lock order (outermost first):
 *   1. ofs->rename_lock (rwlock): rename holds it for writing; copy-up
 *      and every resolution of a non-directory through its parent and
 *      name (ovl_real_get()) hold it for reading.
 *   2. node->lock (mutex): serialises copy-up of that node. At most one
 *      node lock is held at a time: copy-up of a parent finishes before
 *      the child's lock is taken.
 *   3. ofs->tree_lock (mutex): the node hash table, every node's
 *      parent/name/nlookup/refs. Innermost: nothing else is taken and no
 *      syscall is made while holding it.
 * The kernel already serialises directory-modifying requests on one
 * parent directory (the FUSE inode's i_rwsem), which the whiteout logic
 * in dir.c relies on.
 */
#ifndef OVL_ENTRY_H
#define OVL_ENTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "errseq/counter.h"
#include "errseq/errseq.h"

#include "params.h"

struct ovl_volatile;
struct ovl_fault;
struct fuse_session;
struct ovl_dir;

/* A real object in one lower layer. */
struct ovl_path {
	int fd; /* O_PATH|O_NOFOLLOW of the object, -1 for non-dirs */
	unsigned int layer; /* 1 = top-most lower layer, ... */
};

/*
 * One merged object, known to the kernel by its address (the FUSE node
 * id; the root is FUSE_ROOT_ID). Hashed by (parent, name) while the
 * name refers to it; unhashed when removed or renamed over.
 */
struct ovl_node {
	struct ovl_node *parent; /* holds a ref; protected by tree_lock */
	char *name; /* protected by tree_lock */
	struct ovl_node *hnext; /* hash chain; protected by tree_lock */
	bool hashed; /* in the hash table; protected by tree_lock */
	struct ovl_node *all_prev, *all_next; /* ofs->all; tree_lock */
	/*
	 * Upper inode number of a non-directory that has (or had) more
	 * than one link, 0 otherwise; such nodes are also in ofs->ihash,
	 * so every name of one upper inode gives the same FUSE node.
	 * Protected by tree_lock.
	 */
	ino_t uino;
	bool ihashed;
	struct ovl_node *ihnext;
	uint64_t nlookup; /* kernel lookups; protected by tree_lock */
	uint64_t refs; /* children + open handles; protected by tree_lock */

	mode_t type; /* S_IFMT bits; immutable */
	bool opaque; /* directory hides the lowers; immutable */
	/*
	 * Directories: the overlay.redirect of the upper directory (where
	 * its lower parts are), or NULL. Set before the node is hashed;
	 * replaced only by rename, under rename_lock held for writing.
	 */
	char *redirect;

	pthread_mutex_t lock; /* serialises copy-up and pinning */
	/*
	 * The object exists in the upper layer. Goes from false to true
	 * once (copy-up or creation, under @lock) and stays; read
	 * lock-free with __atomic_load_n(ACQUIRE) (ovl_node_has_upper()).
	 */
	bool upper;
	/*
	 * Directories only: O_PATH fd of the upper directory, or -1. Set
	 * before @upper (RELEASE), so a reader that saw @upper sees it.
	 */
	int upper_fd;
	unsigned int nr_lower; /* immutable */
	/*
	 * Directories: O_PATH fds of the lower directories that merge
	 * into it, top-most first. Non-directories: one entry with fd -1
	 * and the layer of the top-most lower object. Immutable.
	 */
	struct ovl_path *lower;
	unsigned int lower_slot; /* non-dirs: index in parent->lower */
	/*
	 * Non-directories found in a lower layer: the lower inode number,
	 * shown as st_ino (and d_ino) also after copy-up for as long as
	 * the node lives, like the kernel's copy-up origin; for an upper
	 * object, the one its overlay.origin names (export.c). 0 if none;
	 * origin_layer is its lower layer (1..). Immutable.
	 */
	ino_t origin_ino;
	unsigned int origin_layer;
	/*
	 * Regular files whose top-most real file is a metacopy (written
	 * by kernel overlayfs with metacopy=on: owner, mode, times and
	 * size, no data): @metacopy is true and @data_fd is an O_PATH fd
	 * of the lower file holding the data, in lower layer @data_layer.
	 * @metacopy goes to false once, when the data is copied into the
	 * upper file (copy_up.c, under @lock), and is read with
	 * __atomic_load_n(ACQUIRE); @data_fd stays open until the node
	 * is freed. Otherwise false, -1 and 0.
	 */
	bool metacopy;
	int data_fd;
	unsigned int data_layer;
	/*
	 * Non-directories keep no fd: they are reached through their
	 * parent's directory fd and their name (ovl_real_get()), so the
	 * number of open fds follows the directories, not every file the
	 * kernel knows. A non-directory whose name is removed or replaced
	 * while the kernel still knows it gets an O_PATH fd on its real
	 * object first ("pinned"); set once under @lock, read with
	 * __atomic_load_n(ACQUIRE); pin_layer is written before it.
	 */
	int pin_fd;
	unsigned int pin_layer;
	/*
	 * 1 when the object is known to have no security.capability (the
	 * kernel asks before every write); 0 unknown. Atomic; cleared by
	 * every xattr change made through the node.
	 */
	int no_caps;
	/*
	 * Regular files: how the kernel does I/O on the open handles of
	 * this node, one word changed with compare-and-swap
	 * (passthrough.c): the number of handles, whether they pass
	 * through to the upper file, and the backing id they share.
	 */
	uint64_t io;
};

/*
 * The state behind every fi->fh, file or directory. sb_cursor MUST stay
 * the first member: ioctl.c reads it through fi->fh.
 */
struct ovl_handle {
	errseq_t sb_cursor; /* errseq_sample(&ofs->sb_err) at open */
	struct ovl_node *node; /* holds a ref */
	/*
	 * Real file fd (files), -1 for dirs. A read-only handle on a lower
	 * file switches to the upper copy once the file is copied up
	 * (file.c): fd and upper then change once, under @lock, read with
	 * __atomic_load_n; the old fd stays open in @stale_fd until
	 * release, so a reader racing the switch still holds a valid fd.
	 */
	int fd;
	bool upper; /* fd is on the upper layer */
	int stale_fd; /* the lower fd after a switch, else -1 */
	bool io_counted; /* counted in node->io (files; passthrough.c) */
	pthread_mutex_t lock;
	struct ovl_dir *dir; /* readdir state (dirs) */
	/* ofs->handles list; protected by ofs->handles_lock */
	struct ovl_handle *prev, *next;
};

/* What decoding copy-up origins needs of one lower layer (export.c). */
struct ovl_export_layer {
	int fd; /* O_RDONLY root of the layer, or -1 */
	bool ok; /* the layer's filesystem has a uuid */
	uint8_t uuid[16];
	dev_t dev;
};

/* One mounted filesystem. Immutable after mount unless a lock is named. */
struct ovl_fs {
	struct ovl_config config; /* parsed and validated options */

	int upper_fd; /* O_PATH of upperdir, -1 without upper */
	int workdir_fd; /* O_PATH of workdir, -1 without upper */
	int work_fd; /* O_PATH of workdir/work, -1 without upper */
	int state_fd; /* O_RDONLY dir fd of workdir/errovl, -1 w/o upper */
	int lock_fd; /* workdir/errovl/lock, flock'ed; -1 w/o upper */
	uid_t own_uid; /* the daemon's ids: what the kernel gives */
	gid_t own_gid; /* what it creates (ovl_new_at()) */
	dev_t mnt_dev; /* the mount's device once mounted, else 0 */

	/*
	 * Upper errors that no application call returned directly
	 * (failed writeback of cached writes, harvested upper sb
	 * errors, failed background work). Written lock-free with
	 * ovl_upper_error(); see volatile.c.
	 */
	struct errseq_counter upper_err;
	/* Source for the syncfs-equivalent of non-volatile mounts. */
	errseq_t sb_err;

	struct ovl_volatile *vol; /* volatile.c state, NULL without upper */
	struct ovl_fault *fault; /* fault.c state, NULL unless test_faults */

	int *lower_fds; /* O_PATH of each lowerdir, config order */
	struct ovl_export_layer *export; /* per lower layer, or NULL */
	unsigned int nr_layers; /* 1 (upper slot) + nr_lower */
	bool samefs; /* all layers on one st_dev: real st_ino */
	unsigned int xino_shift; /* layer index goes above this bit */
	const char *xattr_prefix; /* "trusted.overlay." or "user.overlay." */
	struct fuse_session *se; /* for notifications; set before the loop */
	/*
	 * The INIT (loop.c): its unique, the FUSE_* flags the kernel
	 * offered (flags2 in the upper half), and whether its reply has
	 * yet to be completed (atomic; set when the INIT is read, cleared
	 * by the reply).
	 */
	uint64_t init_unique;
	uint64_t init_flags;
	bool init_pending;
	/*
	 * FUSE passthrough is on (passthrough.c): decided by the INIT
	 * handler before any open, read-only afterwards.
	 */
	bool passthrough;
	bool passthrough_warned; /* a failed registration was logged */
	/*
	 * FUSE over io_uring (uring.c): the rings, set up by the loop
	 * before the INIT; NULL without them.
	 */
	struct ovl_uring *uring;
	bool debug; /* -d: trace every request */
	bool foreground; /* -f: log to stderr, not syslog */

	struct ovl_node *root;
	pthread_rwlock_t rename_lock; /* see the lock order above */
	pthread_mutex_t tree_lock; /* protects the fields below */
	struct ovl_node **hash; /* buckets; protected by tree_lock */
	size_t hash_size; /* protected by tree_lock */
	size_t hash_count; /* protected by tree_lock */
	struct ovl_node *all; /* every non-root node; protected by tree_lock */
	struct ovl_node *ihash[1024]; /* by uino; protected by tree_lock */
	_Atomic uint64_t tmp_seq; /* unique temp names in work/ */
	pid_t pid; /* the daemon's, once it forked (in temp names) */
	bool no_clone; /* the upper cannot FICLONE at all (atomic; copy_up.c) */
	/*
	 * Every open handle, so that a daemon ended by a signal (the
	 * kernel sends no RELEASE then) frees what is still open.
	 */
	pthread_mutex_t handles_lock;
	struct ovl_handle *handles; /* protected by handles_lock */
};

#endif /* OVL_ENTRY_H */
