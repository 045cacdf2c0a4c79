/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef OVL_PARAMS_H
#define OVL_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

/* Most lower layers a mount accepts (the kernel's limit). */
#define OVL_MAX_STACK 500

/* Most ranges one uidmapping= or gidmapping= takes. */
#define OVL_MAX_IDMAP 64

/* One range of an id mapping: on-disk [disk, disk + len) is shown as
 * [shown, shown + len). */
struct ovl_idmap_range {
	uint32_t disk, shown, len;
};

/*
 * The id options of fuse-overlayfs (uidmapping=, squash_to_*): ids
 * stored in the layers are shown mapped; ids the kernel hands in
 * (creator, chown) are mapped back. An id outside every range shows
 * (and is stored) as the overflow id.
 */
struct ovl_idmap {
	unsigned int nr; /* 0: no mapping */
	struct ovl_idmap_range r[OVL_MAX_IDMAP];
	bool squash; /* show every id as @squash_id */
	uint32_t squash_id;
	uint32_t overflow; /* /proc/sys/kernel/overflow{u,g}id */
};

/* redirect_dir= (kernel overlayfs' values and meanings). */
enum ovl_redirect_mode {
	OVL_REDIRECT_NOFOLLOW, /* neither written nor followed */
	OVL_REDIRECT_OFF, /* not written; followed (redirect_always_follow) */
	OVL_REDIRECT_FOLLOW, /* not written; followed */
	OVL_REDIRECT_ON, /* written on directory renames, and followed */
};

/* Validated mount configuration; built by params.c, read-only afterwards. */
struct ovl_config {
	char **lowerdirs; /* absolute paths, top-most first */
	unsigned int nr_lower;
	char *upperdir; /* absolute path or NULL (read-only merge) */
	char *workdir; /* absolute path or NULL */
	char *mountpoint; /* absolute path */

	bool ovl_volatile; /* -o volatile / fsync=0 */
	bool volatile_discard; /* -o volatile_discard: drop old state */
	unsigned int harvest_interval_ms; /* -o harvest_interval=SECONDS */
	bool test_faults; /* -o test_faults: enable fault.c (tests) */
	bool userxattr; /* -o userxattr */
	enum ovl_redirect_mode redirect; /* -o redirect_dir= */
	bool redirect_set; /* redirect_dir= was given */

	bool writeback; /* -o writeback=0|1: FUSE writeback cache */
	bool passthrough; /* -o passthrough=0|1: FUSE passthrough */
	bool threaded; /* -o threaded=0|1: multi-threaded loop */
	bool uring; /* -o uring=0|1: FUSE over io_uring when offered */
	unsigned int spin_us; /* -o spin=US: reader stays awake (loop.c) */
	unsigned int readahead_kib; /* -o readahead=KIB, 0: the kernel's */
	bool readahead_set; /* readahead= was given */
	bool xino; /* compose st_ino when layers span devices */
	bool noacl; /* -o noacl: do not enforce POSIX ACLs */
	double timeout; /* -o timeout=SECONDS: entry and attr cache */
	struct ovl_idmap uidmap, gidmap; /* -o uidmapping=, squash_to_* */
	bool idmapped; /* either map does something */
	char *fuse_opts; /* options handed to libfuse, comma-separated */
	unsigned int max_read; /* -o max_read=N (also given to libfuse), 0 */
	/* MOUNT_ATTR_* bits applied after mounting (atime options) */
	unsigned long long mnt_attr_set, mnt_attr_clr;
};

/* params.c */

/*
 * Splits a lowerdir value at unescaped ':' and removes the escapes
 * ("\:" is a colon, "\\" a backslash). Returns 0 and a NULL-terminated
 * array in *ret (free with ovl_params_free_strv()), or -EINVAL when a
 * component is empty, -E2BIG above OVL_MAX_STACK, -ENOMEM.
 */
int ovl_params_split_lowerdir(const char *val, char ***ret,
			      unsigned int *ret_n);
void ovl_params_free_strv(char **v);
void ovl_config_init(struct ovl_config *cfg);
void ovl_config_done(struct ovl_config *cfg);
int ovl_params_parse(struct ovl_config *cfg, const char *opts, char **ret_err);
int ovl_params_validate(struct ovl_config *cfg, char **ret_err);
int ovl_params_idmap(struct ovl_idmap *m, const char *val);

#endif /* OVL_PARAMS_H */
