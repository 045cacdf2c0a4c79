/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private declarations of volatile.c, checkpoint.c, fault.c and ioctl.c.
 *
 * checkpoint.c has no FUSE dependency: errovlctl links it too, to read
 * a checkpoint without a daemon (errovlctl status --workdir).
 */
#ifndef OVL_VOLATILE_H
#define OVL_VOLATILE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errseq/counter.h"

/* checkpoint.c */

/* File name of the checkpoint inside WORKDIR/errovl/. */
#define OVL_CKPT_NAME "volatile.ckpt"
/* Marker path relative to WORKDIR/work/, as kernel overlayfs uses it. */
#define OVL_MARKER_DIR1 "incompat"
#define OVL_MARKER_DIR2 "volatile"
#define OVL_MARKER_FILE "dirty"

#define OVL_CKPT_MAGIC "ERROVLCK" /* 8 bytes, no NUL on disk */
#define OVL_CKPT_VERSION 1u
#define OVL_CKPT_SIZE 224u /* bytes on disk, crc32c included */

/* Session state recorded in the checkpoint. */
enum ovl_ckpt_state {
	OVL_CKPT_MOUNTED = 1, /* session running, or it ended abnormally */
	OVL_CKPT_CLEAN = 2, /* unmounted, upper flushed, no error */
	OVL_CKPT_FAILED = 3, /* unmounted with recorded upper errors */
};

/* Decoded checkpoint; errnos are positive, times CLOCK_REALTIME in ns. */
struct ovl_ckpt {
	uint32_t state; /* enum ovl_ckpt_state */
	uint32_t error_count; /* upper errors recorded in the session */
	uint8_t boot_id[ERRSEQ_ID_SIZE]; /* boot of the session */
	uint64_t upper_dev; /* st_dev of the upper directory */
	uint64_t upper_fsid; /* statfs f_fsid, val[0] | val[1] << 32 */
	uint64_t upper_mnt_id; /* statx STATX_MNT_ID of the upper dir */
	uint64_t upper_ino; /* st_ino of the upper directory */
	uint8_t instance[ERRSEQ_ID_SIZE]; /* error counter instance id */
	uint32_t pid; /* daemon pid */
	int32_t first_errno; /* first recorded error, 0 if none */
	int32_t last_errno; /* latest recorded error, 0 if none */
	uint64_t mount_time_ns; /* when the session mounted */
	uint64_t marker_ino; /* st_ino of work/incompat/volatile/dirty */
	uint64_t marker_ctime_ns; /* its st_ctime */
	uint64_t first_error_ns; /* time of the first error, 0 if none */
	uint64_t last_error_ns; /* time of the latest error, 0 if none */
	uint64_t update_ns; /* when this checkpoint was written */
	struct errseq_snapshot snap; /* the counter snapshot of the mount */
};

int ovl_ckpt_encode(const struct ovl_ckpt *ck, void *buf, size_t len);
int ovl_ckpt_decode(const void *buf, size_t len, struct ovl_ckpt *ret);
int ovl_ckpt_save(int dirfd, const struct ovl_ckpt *ck);
int ovl_ckpt_save_nosync(int dirfd, const struct ovl_ckpt *ck);
int ovl_ckpt_load(int dirfd, struct ovl_ckpt *ret);
const char *ovl_ckpt_state_name(uint32_t state);

/* volatile.c */

struct ovl_fs;

/*
 * volatile.c state of one mount with an upper layer (volatile or not).
 * Error bookkeeping fields are atomics written by ovl_upper_error()
 * from any thread; the rest is set up before the FUSE session starts.
 */
struct ovl_volatile {
	int harvest_fd; /* O_RDONLY dir fd on the upper: syncfs target */
	uint64_t mount_time_ns; /* CLOCK_REALTIME at setup */
	pthread_mutex_t sync_lock; /* serialises syncfs on harvest_fd */
	struct errseq_snapshot snap; /* upper_err at mount (volatile) */
	bool snap_taken; /* snap is valid */

	/* harvest thread; stop and cond protected by lock */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;

	_Atomic uint32_t error_count;
	_Atomic int32_t first_errno; /* CAS 0 -> errno once */
	_Atomic uint64_t first_error_ns;
	_Atomic int32_t last_errno;
	_Atomic uint64_t last_error_ns;

	struct ovl_ckpt ckpt; /* checkpoint of this session (volatile) */
	bool marker_ours; /* marker created or adopted by this session */
};

uint64_t ovl_vol_now_ns(void);
int ovl_vol_sync_upper(struct ovl_fs *ofs);

/* fault.c */

int ovl_fault_init(struct ovl_fs *ofs);
void ovl_fault_free(struct ovl_fs *ofs);
int ovl_fault_arm(struct ovl_fs *ofs, unsigned int site, int err, int count);

#endif /* OVL_VOLATILE_H */
