/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private declarations of the errovl daemon, one section per .c file.
 */
#ifndef OVL_H
#define OVL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

#include <fuse_lowlevel.h>

#include <sys/stat.h>
#include <syslog.h>

#include "ovl_entry.h"

/* util.c */

extern bool ovl_log_to_syslog;
void ovl_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define ovl_dbg(ofs, ...)                                \
	do {                                             \
		if ((ofs)->debug)                        \
			ovl_log(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define OVL_PROC_PATH_MAX 32
const char *ovl_proc_path(char buf[OVL_PROC_PATH_MAX], int fd);
bool ovl_is_whiteout(const struct stat *st);
bool ovl_name_is_private(const char *name);
bool ovl_xattr_is_private(struct ovl_fs *ofs, const char *name);
#define OVL_XATTR_NAME_MAX 280 /* XATTR_NAME_MAX + "overlay." + NUL */
int ovl_xattr_escape(struct ovl_fs *ofs, const char *name,
		     char buf[OVL_XATTR_NAME_MAX]);
ssize_t ovl_getxattr_at(int dirfd, const char *name, const char *xname,
			void *buf, size_t size);
ssize_t ovl_listxattr_at(int dirfd, const char *name, char *list, size_t size);
int ovl_chmod_at(int dirfd, const char *name, mode_t mode);
int ovl_utimens_at(int dirfd, const char *name, const struct timespec tv[2]);
bool ovl_capable(int cap);
int ovl_get_opaque(struct ovl_fs *ofs, int fd, int *ret_opaque);
int ovl_file_xattrs(struct ovl_fs *ofs, int dirfd, const char *name,
		    int *ret_metacopy, int *ret_no_caps);
int ovl_get_redirect(struct ovl_fs *ofs, int dirfd, const char *at,
		     const char *name, char **ret);
int ovl_set_xattr(struct ovl_fs *ofs, int fd, const char *what,
		  const void *value, size_t len);
ino_t ovl_compose_ino(struct ovl_fs *ofs, unsigned int layer, ino_t ino);
void ovl_tmpname(struct ovl_fs *ofs, char *buf, size_t len);
int ovl_opendir_at(int dirfd, const char *name, DIR **ret);
int ovl_rm_tree_at(int dirfd, const char *name);
struct ovl_fs *ovl_fs(fuse_req_t req);

int ovl_thread_create(pthread_t *tid, void *(*fn)(void *), void *arg);
uint64_t ovl_clock_ns(clockid_t clock);

/* passthrough.c */
#define OVL_FUSE_PASSTHROUGH (1ull << 37) /* FUSE_PASSTHROUGH, INIT flag */
void ovl_passthrough_init(struct ovl_fs *ofs);
void ovl_passthrough_open(struct ovl_fs *ofs, struct ovl_handle *h,
			  struct fuse_file_info *fi, mode_t mode);
void ovl_passthrough_release(struct ovl_fs *ofs, struct ovl_handle *h);
bool ovl_passthrough_node(struct ovl_node *node);
struct iovec;
void ovl_passthrough_patch(uint64_t unique, int32_t error,
			   const struct iovec *arg);

/* loop.c */
struct ovl_uring_ent;
bool ovl_req_kill_suidgid(void);
bool ovl_req_may_block(void);
int ovl_loop_run(struct ovl_fs *ofs, struct fuse_session *se);
void ovl_loop_uring_request(void *loop, struct ovl_uring_ent *e,
			    struct fuse_buf *b, size_t len);

/* uring.c */
#define OVL_FUSE_OVER_IO_URING (1ull << 41) /* FUSE_OVER_IO_URING */
struct ovl_uring *ovl_uring_create(struct ovl_fs *ofs, void *loop, int fuse_fd);
int ovl_uring_prepare(struct ovl_uring *u, uint32_t max_write,
		      uint16_t max_pages);
void ovl_uring_start(struct ovl_uring *u);
bool ovl_uring_active(struct ovl_uring *u);
void ovl_uring_stop(struct ovl_uring *u);
void ovl_uring_destroy(struct ovl_uring *u);
void ovl_uring_begin(struct ovl_uring_ent *e);
void ovl_uring_end(struct ovl_uring_ent *e);
ssize_t ovl_uring_reply(const struct iovec *iov, int count);
void *ovl_uring_payload(size_t size);

/* namei.c */

int ovl_nodes_init(struct ovl_fs *ofs);
void ovl_nodes_free(struct ovl_fs *ofs);
struct ovl_node *ovl_node(fuse_req_t req, fuse_ino_t ino);
fuse_ino_t ovl_node_ino(struct ovl_fs *ofs, struct ovl_node *node);
bool ovl_node_has_upper(struct ovl_node *node);
bool ovl_node_has_upperdata(struct ovl_node *node);
int ovl_node_open_data(struct ovl_node *node, int flags);
int ovl_node_upper(struct ovl_node *node);
int ovl_node_real(struct ovl_node *node, unsigned int *ret_layer);
void ovl_node_get(struct ovl_fs *ofs, struct ovl_node *node);
void ovl_node_put(struct ovl_fs *ofs, struct ovl_node *node);
char *ovl_node_name(struct ovl_fs *ofs, struct ovl_node *node,
		    struct ovl_node **ret_parent);
int ovl_lookup_real(struct ovl_fs *ofs, struct ovl_node *parent,
		    const char *name, struct ovl_node **ret,
		    struct stat *ret_st);
int ovl_do_lookup(struct ovl_fs *ofs, struct ovl_node *parent, const char *name,
		  struct fuse_entry_param *e);
void ovl_node_unhash(struct ovl_fs *ofs, struct ovl_node *node);
void ovl_node_discard(struct ovl_node *node);
int ovl_node_entry(struct ovl_fs *ofs, struct ovl_node *node,
		   struct fuse_entry_param *e);
struct ovl_node *ovl_node_find(struct ovl_fs *ofs, struct ovl_node *parent,
			       const char *name);
bool ovl_node_peek(struct ovl_fs *ofs, struct ovl_node *parent,
		   const char *name, mode_t *ret_type, bool *ret_upperdata);
int ovl_node_install(struct ovl_fs *ofs, struct ovl_node *parent,
		     const char *name, int pufd, bool dir,
		     struct fuse_entry_param *e);
void ovl_node_move(struct ovl_fs *ofs, struct ovl_node *node,
		   struct ovl_node *newparent, const char *newname);
int ovl_lower_exists(struct ovl_fs *ofs, struct ovl_node *parent,
		     const char *name);
/* A real object as (directory fd, name); see ovl_real_get(). */
struct ovl_real {
	int dirfd;
	const char *name; /* "" when dirfd is the object itself */
	unsigned int layer; /* 0 = upper */
	char *name_buf; /* private */
	struct ovl_node *parent; /* private: holds a reference */
	bool locked; /* private: holds ofs->rename_lock for reading */
};
int ovl_real_get(struct ovl_fs *ofs, struct ovl_node *node, bool lock,
		 struct ovl_real *r);
void ovl_real_put(struct ovl_fs *ofs, struct ovl_real *r);
int ovl_real_open(const struct ovl_real *r, int flags);
int ovl_node_pin(struct ovl_fs *ofs, struct ovl_node *node);
int ovl_node_new_unnamed(struct ovl_fs *ofs, struct ovl_node *parent,
			 mode_t type, int pin, struct fuse_entry_param *e);
void ovl_node_inval_attr(struct ovl_fs *ofs, struct ovl_node *node);
void ovl_node_removed(struct ovl_fs *ofs, struct ovl_node *node);
ino_t ovl_node_dino(struct ovl_fs *ofs, struct ovl_node *dir, const char *name,
		    unsigned char type, ino_t ino, int impure_fd);
ino_t ovl_node_lower_dino(struct ovl_fs *ofs, struct ovl_node *n, ino_t ino);
ino_t ovl_node_dino_dir(struct ovl_fs *ofs, struct ovl_node *dir,
			const char *name, ino_t ino, int impure_fd,
			bool *ret_redirected);
void ovl_node_set_linked(struct ovl_fs *ofs, struct ovl_node *node, ino_t ino);
void ovl_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void ovl_op_forget_one(struct ovl_fs *ofs, struct ovl_node *node,
		       uint64_t nlookup);
void ovl_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void ovl_op_forget_multi(fuse_req_t req, size_t count,
			 struct fuse_forget_data *forgets);

/* idmap.c */
uint32_t ovl_id_shown(const struct ovl_idmap *m, uint32_t disk);
uint32_t ovl_id_disk(const struct ovl_idmap *m, uint32_t shown);
void ovl_attr_shown(const struct ovl_fs *ofs, struct stat *st);

/* export.c */
int ovl_export_setup(struct ovl_fs *ofs);
void ovl_export_free(struct ovl_fs *ofs);
int ovl_origin_set(struct ovl_fs *ofs, int src, unsigned int layer, int dst,
		   int parent_ufd);
int ovl_origin_get(struct ovl_fs *ofs, int dirfd, const char *name, mode_t type,
		   ino_t *ret_ino, unsigned int *ret_layer);
bool ovl_dir_impure(struct ovl_fs *ofs, int fd);
int ovl_set_impure(struct ovl_fs *ofs, int dir_fd);

/* inode.c */

void ovl_node_attr(struct ovl_fs *ofs, struct ovl_node *node, struct stat *st,
		   unsigned int layer);
int ovl_node_stat(struct ovl_fs *ofs, struct ovl_node *node, struct stat *st);
int ovl_kill_suidgid(int fd);
void ovl_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi);
void ovl_op_readlink(fuse_req_t req, fuse_ino_t ino);
void ovl_op_statfs(fuse_req_t req, fuse_ino_t ino);

/* copy_up.c */

int ovl_copy_up(struct ovl_fs *ofs, struct ovl_node *node, bool data);
int ovl_copy_up_xattrs(struct ovl_fs *ofs, int src_fd, int dst_fd);

/* dir.c */

void ovl_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev);
void ovl_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode);
void ovl_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name);
void ovl_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname);
void ovl_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void ovl_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
bool ovl_rename_quick(struct ovl_fs *ofs, struct ovl_node *parent,
		      const char *name, struct ovl_node *newparent,
		      const char *newname, unsigned int flags);
void ovl_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags);
void ovl_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, struct fuse_file_info *fi);

/* file.c */

struct ovl_handle *ovl_handle_new(struct ovl_fs *ofs, struct ovl_node *node);
void ovl_handle_free(struct ovl_fs *ofs, struct ovl_handle *h);
int ovl_open_flags(struct ovl_fs *ofs, int flags);
void ovl_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void ovl_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *buf,
		      off_t off, struct fuse_file_info *fi);
void ovl_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi);
void ovl_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		  struct fuse_file_info *fi);
void ovl_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		      off_t length, struct fuse_file_info *fi);

/* readdir.c */

void ovl_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void ovl_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi);
void ovl_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void ovl_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi);
int ovl_dir_is_empty(struct ovl_fs *ofs, struct ovl_node *node);
bool ovl_dir_read_quick(const struct ovl_handle *h, uint64_t off);
void ovl_op_releasedir_handle(struct ovl_fs *ofs, struct ovl_handle *h);

/* xattrs.c */

void ovl_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     const char *value, size_t size, int flags);
void ovl_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     size_t size);
void ovl_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void ovl_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* super.c */

int ovl_super_setup(struct ovl_fs *ofs);
void ovl_super_free(struct ovl_fs *ofs);
void ovl_super_mounted(struct ovl_fs *ofs);
void ovl_super_readahead(struct ovl_fs *ofs);
int ovl_lock_set_state(struct ovl_fs *ofs, const char *state);
void ovl_lock_release(struct ovl_fs *ofs);
extern const struct fuse_lowlevel_ops ovl_ops;

/* volatile.c */

/*
 * Called once after the layers are opened and the workdir is locked,
 * before the FUSE session is mounted. For every mount: initialises
 * ofs->upper_err and ofs->sb_err. For volatile mounts additionally:
 * checks the marker and the checkpoint of a previous session (refuses
 * with a logged reason), refuses an upper with an unseen writeback
 * error, creates work/incompat/volatile/dirty durably, snapshots
 * ofs->upper_err, writes the "mounted" checkpoint and starts the
 * harvest thread. Returns 0 or -errno (already logged).
 */
int ovl_volatile_setup(struct ovl_fs *ofs);
/*
 * Called once after the FUSE session loop ended and the kernel
 * unmounted, while the workdir lock is still held: stops the harvest
 * thread, flushes the upper, harvests, writes the final checkpoint
 * and, if clean, removes the marker.
 */
void ovl_volatile_teardown(struct ovl_fs *ofs);
/*
 * Returns 1 when not volatile (do a real sync), 0 when volatile and no
 * upper error was recorded since mount (skip the sync), or the recorded
 * -errno when volatile and an upper error was recorded (sticky).
 */
int ovl_sync_status(struct ovl_fs *ofs);
/*
 * Records an upper-layer error @err (< 0) that no application call
 * returned directly; @what names the operation for the log. Lock-free,
 * callable from any thread.
 */
void ovl_upper_error(struct ovl_fs *ofs, int err, const char *what);

/* fault.c */

enum ovl_fault_site {
	OVL_FAULT_WRITE, /* data write to an upper file */
	OVL_FAULT_COPY_UP, /* data copy during copy-up */
	OVL_FAULT_HARVEST, /* syncfs harvest of the upper fs */
	OVL_FAULT_FSYNC, /* real fsync of an upper file (non-volatile) */
	OVL_FAULT_NR,
};

/*
 * Returns 0, or the -errno armed for @site by a test through the
 * control ioctl. Never fails unless the mount has -o test_faults.
 */
int ovl_fault(struct ovl_fs *ofs, enum ovl_fault_site site);

/* ioctl.c */

/*
 * The control interface (include/errovl/control.h) behind the
 * fuse_lowlevel_ops .ioctl entry: status, syncfs-equivalent, faults.
 */
void ovl_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		  struct fuse_file_info *fi, unsigned int flags,
		  const void *in_buf, size_t in_bufsz, size_t out_bufsz);

#endif /* OVL_H */
