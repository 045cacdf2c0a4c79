/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Volatile mode and upper-error capture.
 *
 * Every mount with an upper layer gets a struct ovl_volatile: a
 * long-lived O_RDONLY directory fd on the upper ("harvest fd") and a
 * harvest thread. syncfs(2) on that fd flushes the upper filesystem
 * and reports every writeback error of its superblock since the fd
 * last looked (Linux >= 5.8), so it is how the daemon learns about
 * asynchronous writeback errors nobody else would report to it. The
 * harvest runs off the fsync path: every harvest_interval_ms on
 * volatile mounts (0: never periodically), on ERROVL_IOC_SYNC of
 * non-volatile mounts, and at unmount.
 *
 * All upper errors no application call returned directly go through
 * ovl_upper_error(): the harvest, failed writeback-cache writes (the
 * core), failed background work. It sets ofs->upper_err (errseq_counter,
 * the sticky volatile state and the status), ofs->sb_err (source of the
 * non-volatile syncfs-equivalent, reported once per open handle) and
 * the first/last/count bookkeeping, all lock-free.
 *
 * Volatile mounts snapshot ofs->upper_err at mount. ovl_sync_status()
 * then is a pair of loads: 0 while the counter still matches the
 * snapshot, the latest -errno forever once it does not.
 *
 * On disk, a volatile session owns two things:
 *  - the kernel's marker WORKDIR/work/incompat/volatile/dirty, created
 *    durably before the FUSE mount (so before any write is
 *    acknowledged), so kernel overlayfs refuses the upper too;
 *  - the checkpoint WORKDIR/errovl/volatile.ckpt (checkpoint.c):
 *    "mounted" at mount, "clean" or "failed" at unmount.
 * A clean unmount removes the marker after the final flush; a failed
 * one keeps it. The next mount (volatile or not) that finds the marker
 * only proceeds if the checkpoint proves a clean end of a session of
 * this boot on this upper with this very marker; otherwise it refuses
 * and says why (see ovl_vol_check_previous()). -o volatile_discard
 * drops the old state explicitly.
 *
 * Teardown runs after the kernel unmount returned, under the workdir
 * lock held by the core: the user's umount stays fast, and a racing
 * remount waits for the final checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "ovl.h"
#include "volatile.h"

#define OVL_MARKER_PATH OVL_MARKER_DIR1 "/" OVL_MARKER_DIR2 "/" OVL_MARKER_FILE

/**
 * ovl_vol_now_ns - current CLOCK_REALTIME in nanoseconds
 *
 * Return: nanoseconds since the epoch (for logs and the checkpoint
 * only; never used to decide anything).
 */
uint64_t ovl_vol_now_ns(void)
{
	return ovl_clock_ns(CLOCK_REALTIME);
}

static const char *ovl_vol_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "(unknown time)");
	return buf;
}

static const char *ovl_vol_errname(int err)
{
	const char *s = strerrorname_np(err < 0 ? -err : err);

	return s ? s : "E?";
}

/**
 * ovl_upper_error - record an upper error no application call returned
 * @ofs: the mount
 * @err: -errno; anything else is recorded as -EIO
 * @what: the operation, for the log ("writeback", ...)
 *
 * Sets ofs->upper_err (sticky volatile state, status) and ofs->sb_err
 * (syncfs-equivalent of non-volatile mounts), counts the error and
 * keeps the first and the latest with their times. The first error of
 * the mount is logged once.
 *
 * Context: any thread; lock-free.
 */
void ovl_upper_error(struct ovl_fs *ofs, int err, const char *what)
{
	struct ovl_volatile *vol = ofs->vol;
	uint64_t now = ovl_vol_now_ns();
	int32_t zero = 0;
	char tbuf[32];

	if (err >= 0 || err < -(int)ERRSEQ_MAX_ERRNO)
		err = -EIO;
	(void)errseq_counter_set(&ofs->upper_err, err);
	(void)errseq_set(&ofs->sb_err, err);
	if (!vol)
		return;
	atomic_store(&vol->last_error_ns, now);
	atomic_store(&vol->last_errno, -err);
	atomic_fetch_add(&vol->error_count, 1);
	if (!atomic_compare_exchange_strong(&vol->first_errno, &zero, -err))
		return;
	atomic_store(&vol->first_error_ns, now);
	if (ofs->config.ovl_volatile)
		ovl_log(LOG_ERR,
			"upper %s error (%s) at %s: volume is now "
			"inconsistent; every fsync will fail until unmount",
			what, ovl_vol_errname(err),
			ovl_vol_time(now, tbuf, sizeof(tbuf)));
	else
		ovl_log(LOG_ERR,
			"upper %s error (%s) at %s: reported once to "
			"each fsync/sync caller concerned",
			what, ovl_vol_errname(err),
			ovl_vol_time(now, tbuf, sizeof(tbuf)));
}

/**
 * ovl_sync_status - what a sync call on the mount must do
 * @ofs: the mount
 *
 * Cheap: a few atomic loads, no I/O, no lock.
 *
 * Return: 1 when not volatile (do the real sync); 0 when volatile and
 * no upper error was recorded since mount (skip the sync); the latest
 * recorded -errno when volatile and an error was recorded (sticky).
 */
int ovl_sync_status(struct ovl_fs *ofs)
{
	struct ovl_volatile *vol = ofs->vol;

	if (!ofs->config.ovl_volatile)
		return 1;
	if (!vol || !vol->snap_taken)
		return 0;
	return errseq_counter_check(&ofs->upper_err, &vol->snap);
}

/**
 * ovl_vol_sync_upper - syncfs the upper filesystem and harvest errors
 * @ofs: the mount
 *
 * Flushes the upper filesystem with syncfs(2) on the harvest fd; a
 * failure (a writeback error of the upper superblock since the last
 * harvest, or a flush failure) is recorded with ovl_upper_error().
 * Honours the HARVEST fault site. Serialised against itself.
 *
 * Context: the harvest thread, the syncfs-equivalent ioctl and the
 * teardown; never the fsync path (it blocks on I/O).
 * Return: 0 or the -errno recorded.
 */
int ovl_vol_sync_upper(struct ovl_fs *ofs)
{
	struct ovl_volatile *vol = ofs->vol;
	int r;

	if (!vol)
		return 0;
	pthread_mutex_lock(&vol->sync_lock);
	r = ovl_fault(ofs, OVL_FAULT_HARVEST);
	if (!r && syncfs(vol->harvest_fd) < 0)
		r = -errno;
	pthread_mutex_unlock(&vol->sync_lock);
	if (r)
		ovl_upper_error(ofs, r, "writeback");
	return r;
}

/*
 * After fuse_daemonize() the daemon runs in a child process: record its
 * pid in the "mounted" checkpoint (informational: it is named in the
 * message of a refused remount). Runs in the harvest thread, so that a
 * fork()+exec() helper never gets that far.
 */
static void ovl_vol_record_pid(struct ovl_fs *ofs)
{
	struct ovl_volatile *vol = ofs->vol;

	if (!vol->snap_taken || vol->ckpt.pid == (uint32_t)getpid())
		return;
	vol->ckpt.pid = (uint32_t)getpid();
	vol->ckpt.update_ns = ovl_vol_now_ns();
	if (ovl_ckpt_save(ofs->state_fd, &vol->ckpt) < 0)
		ovl_log(LOG_WARNING,
			"cannot record the daemon's pid in the checkpoint");
}

static void *ovl_vol_harvest_thread(void *arg)
{
	struct ovl_fs *ofs = arg;
	struct ovl_volatile *vol = ofs->vol;
	unsigned int ms = ofs->config.harvest_interval_ms;
	struct timespec ts;

	ovl_vol_record_pid(ofs);
	pthread_mutex_lock(&vol->lock);
	while (!vol->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!vol->stop &&
		       pthread_cond_timedwait(&vol->cond, &vol->lock, &ts) !=
			       ETIMEDOUT)
			;
		if (vol->stop)
			break;
		pthread_mutex_unlock(&vol->lock);
		(void)ovl_vol_sync_upper(ofs);
		pthread_mutex_lock(&vol->lock);
	}
	pthread_mutex_unlock(&vol->lock);
	return NULL;
}

static int ovl_vol_start_harvest(struct ovl_fs *ofs)
{
	struct ovl_volatile *vol = ofs->vol;
	int r;

	/*
	 * Only volatile mounts need the periodic harvest: there it is the
	 * only way an upper writeback error reaches fsync. Non-volatile
	 * mounts fsync the upper for real and harvest on ERROVL_IOC_SYNC
	 * and at unmount, so they do not flush the upper behind the
	 * user's back.
	 */
	if (!ofs->config.ovl_volatile || !ofs->config.harvest_interval_ms)
		return 0;
	vol->stop = false;
	r = ovl_thread_create(&vol->thread, ovl_vol_harvest_thread, ofs);
	if (r) {
		ovl_log(LOG_ERR,
			"cannot start the upper error harvest thread: %s",
			strerror(-r));
		return r;
	}
	vol->thread_started = true;
	return 0;
}

static void ovl_vol_stop_harvest(struct ovl_volatile *vol)
{
	if (!vol->thread_started)
		return;
	pthread_mutex_lock(&vol->lock);
	vol->stop = true;
	pthread_cond_signal(&vol->cond);
	pthread_mutex_unlock(&vol->lock);
	pthread_join(vol->thread, NULL);
	vol->thread_started = false;
}

/*
 * The daemon may fork after the setup (fuse_daemonize() without -f),
 * and threads do not survive fork(). The mount being set up or running
 * is remembered here (one per process); around any fork() the harvest
 * thread is joined in the parent first (so no lock is held and the
 * forking process is single-threaded), then started again in both
 * processes; the thread records the daemon's pid in the checkpoint.
 * (A fork()+exec() helper, such as fusermount3 for a mount without
 * privileges, gets a short-lived thread as well; exec() ends it.)
 */
static struct ovl_fs *ovl_vol_fork_ofs;
static bool ovl_vol_fork_restart;
static pthread_once_t ovl_vol_fork_once = PTHREAD_ONCE_INIT;

static void ovl_vol_fork_prepare(void)
{
	struct ovl_fs *ofs = ovl_vol_fork_ofs;

	ovl_vol_fork_restart = ofs && ofs->vol && ofs->vol->thread_started;
	if (ovl_vol_fork_restart)
		ovl_vol_stop_harvest(ofs->vol);
}

static void ovl_vol_fork_parent(void)
{
	if (ovl_vol_fork_restart)
		(void)ovl_vol_start_harvest(ovl_vol_fork_ofs);
}

static void ovl_vol_fork_child(void)
{
	if (ovl_vol_fork_restart)
		(void)ovl_vol_start_harvest(ovl_vol_fork_ofs);
}

static void ovl_vol_fork_register(void)
{
	(void)pthread_atfork(ovl_vol_fork_prepare, ovl_vol_fork_parent,
			     ovl_vol_fork_child);
}

/* Identity of the upper filesystem and root, stored in the checkpoint. */
static int ovl_vol_upper_identity(struct ovl_fs *ofs, struct ovl_ckpt *ck)
{
	int fd = ofs->vol->harvest_fd;
	struct statx stx;
	struct statfs sfs;
	struct stat st;

	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
		return -errno;
	ck->upper_dev = (uint64_t)st.st_dev;
	ck->upper_ino = (uint64_t)st.st_ino;
	ck->upper_fsid = (uint64_t)(uint32_t)sfs.f_fsid.__val[0] |
			 (uint64_t)(uint32_t)sfs.f_fsid.__val[1] << 32;
	ck->upper_mnt_id = 0;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) == 0 &&
	    (stx.stx_mask & STATX_MNT_ID))
		ck->upper_mnt_id = stx.stx_mnt_id;
	return 0;
}

static int ovl_vol_fsync_dirat(int dirfd, const char *path)
{
	int fd, r = 0;

	fd = openat(dirfd, path,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int ovl_vol_marker_stat(struct ovl_fs *ofs, struct stat *st)
{
	if (fstatat(ofs->work_fd, OVL_MARKER_PATH, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static uint64_t ovl_vol_ctime_ns(const struct stat *st)
{
	return (uint64_t)st->st_ctim.tv_sec * 1000000000u +
	       (uint64_t)st->st_ctim.tv_nsec;
}

/*
 * Creates WORKDIR/work/incompat/volatile/dirty (or reuses it) and makes
 * the file and each directory entry durable; returns its identity.
 */
static int ovl_vol_marker_create(struct ovl_fs *ofs, struct stat *st)
{
	int fd, r;

	memset(st, 0, sizeof(*st));
	if (mkdirat(ofs->work_fd, OVL_MARKER_DIR1, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (mkdirat(ofs->work_fd, OVL_MARKER_DIR1 "/" OVL_MARKER_DIR2, 0700) <
		    0 &&
	    errno != EEXIST)
		return -errno;
	fd = openat(ofs->work_fd, OVL_MARKER_PATH,
		    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = 0;
	if (fsync(fd) < 0 || fstat(fd, st) < 0)
		r = -errno;
	close(fd);
	if (!r && !S_ISREG(st->st_mode))
		r = -EINVAL;
	if (!r)
		r = ovl_vol_fsync_dirat(ofs->work_fd,
					OVL_MARKER_DIR1 "/" OVL_MARKER_DIR2);
	if (!r)
		r = ovl_vol_fsync_dirat(ofs->work_fd, OVL_MARKER_DIR1);
	if (!r)
		r = ovl_vol_fsync_dirat(ofs->work_fd, ".");
	return r;
}

/* Removes the marker and its directories if empty; durable. */
static int ovl_vol_marker_remove(struct ovl_fs *ofs)
{
	int r;

	if (unlinkat(ofs->work_fd, OVL_MARKER_PATH, 0) < 0 && errno != ENOENT)
		return -errno;
	r = ovl_vol_fsync_dirat(ofs->work_fd,
				OVL_MARKER_DIR1 "/" OVL_MARKER_DIR2);
	if (r && r != -ENOENT)
		return r;
	if (unlinkat(ofs->work_fd, OVL_MARKER_DIR1 "/" OVL_MARKER_DIR2,
		     AT_REMOVEDIR) < 0 &&
	    errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
		return -errno;
	if (unlinkat(ofs->work_fd, OVL_MARKER_DIR1, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
		return -errno;
	r = ovl_vol_fsync_dirat(ofs->work_fd, OVL_MARKER_DIR1);
	if (r && r != -ENOENT)
		return r;
	return ovl_vol_fsync_dirat(ofs->work_fd, ".");
}

static const char *ovl_vol_workdir(struct ovl_fs *ofs)
{
	return ofs->config.workdir ? ofs->config.workdir : "WORKDIR";
}

/* -o volatile_discard: log what is dropped, remove marker + checkpoint. */
static int ovl_vol_discard(struct ovl_fs *ofs, const char *why)
{
	int r;

	ovl_log(LOG_WARNING,
		"volatile_discard: discarding the previous volatile "
		"state of %s (%s): removing the marker "
		"work/" OVL_MARKER_PATH " and errovl/" OVL_CKPT_NAME,
		ovl_vol_workdir(ofs), why);
	if (unlinkat(ofs->state_fd, OVL_CKPT_NAME, 0) < 0 && errno != ENOENT) {
		r = -errno;
		goto out_err;
	}
	r = ovl_vol_marker_remove(ofs);
	if (!r)
		return 0;
out_err:
	ovl_log(LOG_ERR, "volatile_discard: cannot remove the old state: %s",
		strerror(-r));
	return r;
}

#define OVL_VOL_ADVICE                                                       \
	"check the upper layer's data (or delete the upper and work "        \
	"directories), then mount again with -o volatile_discard to accept " \
	"the upper as it is"

/*
 * Decides whether a marker left in the workdir may be reused. Returns
 * 0 to mount (with *adopt set when a clean checkpoint proves the marker
 * is ours), or -EINVAL after logging which case it is and what to do.
 */
static int ovl_vol_check_previous(struct ovl_fs *ofs, const struct stat *mst,
				  bool *adopt)
{
	const char *wd = ovl_vol_workdir(ofs);
	struct ovl_ckpt ck, cur;
	uint8_t boot[ERRSEQ_ID_SIZE];
	char t1[32], t2[32];
	int r;

	*adopt = false;
	r = ovl_ckpt_load(ofs->state_fd, &ck);
	if (r == -ENOENT) {
		if (ofs->config.volatile_discard)
			return ovl_vol_discard(ofs,
					       "marker without checkpoint");
		ovl_log(LOG_ERR,
			"refusing to mount %s: %s/work/" OVL_MARKER_PATH
			" was not left by errovl (no errovl checkpoint): "
			"a kernel overlayfs volatile mount or another tool "
			"left it, so the upper may hold unsynced or lost "
			"writes; " OVL_VOL_ADVICE,
			wd, wd);
		return -EINVAL;
	}
	if (r < 0) {
		if (ofs->config.volatile_discard)
			return ovl_vol_discard(ofs, "unreadable checkpoint");
		ovl_log(LOG_ERR,
			"refusing to mount %s: the volatile marker is "
			"present and the checkpoint %s/errovl/" OVL_CKPT_NAME
			" is %s (%s): cannot prove the previous session "
			"ended cleanly; " OVL_VOL_ADVICE,
			wd, wd, r == -EINVAL ? "corrupt" : "unreadable",
			strerror(-r));
		return -EINVAL;
	}
	if (ofs->config.volatile_discard)
		return ovl_vol_discard(ofs, ovl_ckpt_state_name(ck.state));
	if (ck.marker_ino != (uint64_t)mst->st_ino ||
	    ck.marker_ctime_ns != ovl_vol_ctime_ns(mst)) {
		ovl_log(LOG_ERR,
			"refusing to mount %s: the volatile marker "
			"%s/work/" OVL_MARKER_PATH " is not the one errovl's "
			"checkpoint recorded (inode or ctime differ): it "
			"was re-created since, e.g. by a kernel overlayfs "
			"volatile mount; " OVL_VOL_ADVICE,
			wd, wd);
		return -EINVAL;
	}
	r = errseq_boot_id(boot);
	if (r < 0 || memcmp(boot, ck.boot_id, sizeof(boot)) != 0) {
		ovl_log(LOG_ERR,
			"refusing to mount %s: the machine rebooted since "
			"the previous volatile session (mounted at %s, "
			"state %s): writes it did not sync may be "
			"lost; " OVL_VOL_ADVICE,
			wd, ovl_vol_time(ck.mount_time_ns, t1, sizeof(t1)),
			ovl_ckpt_state_name(ck.state));
		return -EINVAL;
	}
	memset(&cur, 0, sizeof(cur));
	r = ovl_vol_upper_identity(ofs, &cur);
	if (r < 0)
		return r;
	if (cur.upper_dev != ck.upper_dev || cur.upper_ino != ck.upper_ino ||
	    cur.upper_fsid != ck.upper_fsid) {
		ovl_log(LOG_ERR,
			"refusing to mount %s: its checkpoint was written "
			"for another upper filesystem or directory (device, "
			"fsid or root inode differ); " OVL_VOL_ADVICE,
			wd);
		return -EINVAL;
	}
	if (cur.upper_mnt_id != ck.upper_mnt_id) {
		ovl_log(LOG_ERR,
			"refusing to mount %s: the upper filesystem was "
			"unmounted or remounted since the previous volatile "
			"session (mount id differs), so its writeback errors "
			"since then are unknown; " OVL_VOL_ADVICE,
			wd);
		return -EINVAL;
	}
	switch (ck.state) {
	case OVL_CKPT_CLEAN:
		*adopt = true;
		return 0;
	case OVL_CKPT_FAILED:
		ovl_log(LOG_ERR,
			"refusing to mount %s: the previous volatile session "
			"recorded %" PRIu32 " upper error(s): first %s (%s) "
			"at %s, last %s at %s; the upper is "
			"inconsistent; " OVL_VOL_ADVICE,
			wd, ck.error_count, ovl_vol_errname(ck.first_errno),
			strerror(ck.first_errno),
			ovl_vol_time(ck.first_error_ns, t1, sizeof(t1)),
			ovl_vol_errname(ck.last_errno),
			ovl_vol_time(ck.last_error_ns, t2, sizeof(t2)));
		return -EINVAL;
	default:
		ovl_log(LOG_ERR,
			"refusing to mount %s: the previous volatile session "
			"(pid %" PRIu32 ", mounted at %s) did not unmount "
			"cleanly: it was killed or crashed, and its unsynced "
			"writes may be lost; " OVL_VOL_ADVICE,
			wd, ck.pid,
			ovl_vol_time(ck.mount_time_ns, t1, sizeof(t1)));
		return -EINVAL;
	}
}

/*
 * Refuses a volatile mount while the upper filesystem holds a writeback
 * error nobody has seen. The harvest fd was just opened, so its cursor
 * is 0 if the error is unseen and syncfs reports it (and marks it seen:
 * userspace has no way to look without consuming).
 */
static int ovl_vol_check_unseen(struct ovl_fs *ofs)
{
	int r = 0;

	if (syncfs(ofs->vol->harvest_fd) < 0)
		r = -errno;
	if (!r)
		return 0;
	ovl_log(LOG_ERR,
		"refusing volatile mount: upper filesystem had an unseen "
		"writeback error (%s); it is now marked seen: check the "
		"upper's data, then mount again",
		ovl_vol_errname(r));
	return r;
}

static void ovl_vol_fill_errors(struct ovl_volatile *vol, struct ovl_ckpt *ck)
{
	ck->error_count = atomic_load(&vol->error_count);
	ck->first_errno = atomic_load(&vol->first_errno);
	ck->first_error_ns = atomic_load(&vol->first_error_ns);
	ck->last_errno = atomic_load(&vol->last_errno);
	ck->last_error_ns = atomic_load(&vol->last_error_ns);
	ck->update_ns = ovl_vol_now_ns();
}

/* Volatile part of the setup: unseen check, marker, snapshot, checkpoint. */
static int ovl_vol_setup_volatile(struct ovl_fs *ofs, bool adopt)
{
	struct ovl_volatile *vol = ofs->vol;
	struct ovl_ckpt *ck = &vol->ckpt;
	struct stat mst;
	int r;

	r = ovl_vol_check_unseen(ofs);
	if (r < 0)
		return r;
	r = ovl_vol_marker_create(ofs, &mst);
	if (r < 0) {
		ovl_log(LOG_ERR,
			"cannot create the volatile marker "
			"%s/work/" OVL_MARKER_PATH ": %s",
			ovl_vol_workdir(ofs), strerror(-r));
		return r;
	}
	vol->marker_ours = true;
	r = errseq_counter_snapshot(&ofs->upper_err, &vol->snap,
				    ERRSEQ_SNAPSHOT_BASELINE);
	if (r < 0) {
		ovl_log(LOG_ERR, "cannot snapshot the upper error counter: %s",
			strerror(-r));
		goto out_marker;
	}
	vol->snap_taken = true;
	memset(ck, 0, sizeof(*ck));
	ck->state = OVL_CKPT_MOUNTED;
	ck->snap = vol->snap;
	memcpy(ck->boot_id, vol->snap.boot_id, ERRSEQ_ID_SIZE);
	memcpy(ck->instance, vol->snap.instance, ERRSEQ_ID_SIZE);
	ck->pid = (uint32_t)getpid();
	ck->mount_time_ns = vol->mount_time_ns;
	ck->marker_ino = (uint64_t)mst.st_ino;
	ck->marker_ctime_ns = ovl_vol_ctime_ns(&mst);
	r = ovl_vol_upper_identity(ofs, ck);
	if (r < 0)
		goto out_marker;
	ovl_vol_fill_errors(vol, ck);
	r = ovl_ckpt_save(ofs->state_fd, ck);
	if (r < 0) {
		ovl_log(LOG_ERR,
			"cannot write the checkpoint %s/errovl/" OVL_CKPT_NAME
			": %s",
			ovl_vol_workdir(ofs), strerror(-r));
		goto out_marker;
	}
	return 0;

out_marker:
	/* Nothing was written through this mount yet: undo the marker. */
	if (!adopt)
		(void)ovl_vol_marker_remove(ofs);
	vol->marker_ours = false;
	return r;
}

static void ovl_vol_free(struct ovl_fs *ofs)
{
	struct ovl_volatile *vol = ofs->vol;

	if (ovl_vol_fork_ofs == ofs)
		ovl_vol_fork_ofs = NULL;
	if (vol) {
		if (vol->harvest_fd >= 0)
			close(vol->harvest_fd);
		pthread_cond_destroy(&vol->cond);
		pthread_mutex_destroy(&vol->lock);
		pthread_mutex_destroy(&vol->sync_lock);
		free(vol);
		ofs->vol = NULL;
	}
	ovl_fault_free(ofs);
}

static int ovl_vol_alloc(struct ovl_fs *ofs)
{
	struct ovl_volatile *vol;
	pthread_condattr_t attr;

	vol = calloc(1, sizeof(*vol));
	if (!vol)
		return -ENOMEM;
	vol->harvest_fd = -1;
	vol->mount_time_ns = ovl_vol_now_ns();
	pthread_mutex_init(&vol->lock, NULL);
	pthread_mutex_init(&vol->sync_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&vol->cond, &attr);
	pthread_condattr_destroy(&attr);
	ofs->vol = vol;
	return 0;
}

/**
 * ovl_volatile_setup - set up error capture and volatile mode
 * @ofs: the mount, layers opened and workdir locked, before the FUSE
 *       mount
 *
 * For every mount: initialises upper_err and sb_err, fault injection
 * (-o test_faults), and with an upper the harvest fd and thread, and
 * the check of a marker left by a previous volatile session (refused
 * unless a clean checkpoint proves it ours, or -o volatile_discard).
 * Volatile mounts additionally refuse an upper with an unseen
 * writeback error, create the marker durably, snapshot upper_err and
 * write the "mounted" checkpoint.
 *
 * Return: 0 or -errno, the reason already logged; on failure nothing
 * is left allocated and a marker created here is removed again.
 */
int ovl_volatile_setup(struct ovl_fs *ofs)
{
	struct ovl_volatile *vol;
	bool adopt = false;
	struct stat mst;
	int r;

	errseq_counter_init(&ofs->upper_err);
	ofs->sb_err = 0;
	ofs->vol = NULL;
	ofs->fault = NULL;
	r = ovl_fault_init(ofs);
	if (r < 0)
		return r;
	if (ofs->upper_fd < 0)
		return 0;
	r = ovl_vol_alloc(ofs);
	if (r < 0)
		goto out_free;
	vol = ofs->vol;
	vol->harvest_fd =
		openat(ofs->upper_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vol->harvest_fd < 0) {
		r = -errno;
		ovl_log(LOG_ERR, "cannot open the upper directory: %s",
			strerror(-r));
		goto out_free;
	}

	r = ovl_vol_marker_stat(ofs, &mst);
	if (r == 0) {
		r = ovl_vol_check_previous(ofs, &mst, &adopt);
		if (r < 0)
			goto out_free;
		if (adopt && !ofs->config.ovl_volatile) {
			/* Clean end proven: the marker has no reason left. */
			r = ovl_vol_marker_remove(ofs);
			if (r < 0) {
				ovl_log(LOG_ERR,
					"cannot remove the volatile marker: "
					"%s",
					strerror(-r));
				goto out_free;
			}
		}
	} else if (r != -ENOENT && r != -ENOTDIR) {
		ovl_log(LOG_ERR, "cannot look up the volatile marker: %s",
			strerror(-r));
		goto out_free;
	}

	if (ofs->config.ovl_volatile) {
		r = ovl_vol_setup_volatile(ofs, adopt);
		if (r < 0)
			goto out_free;
	}
	r = ovl_vol_start_harvest(ofs);
	if (r < 0)
		goto out_marker;
	pthread_once(&ovl_vol_fork_once, ovl_vol_fork_register);
	ovl_vol_fork_ofs = ofs;
	return 0;

out_marker:
	if (ofs->config.ovl_volatile && !adopt) {
		(void)ovl_vol_marker_remove(ofs);
		(void)unlinkat(ofs->state_fd, OVL_CKPT_NAME, 0);
	}
out_free:
	ovl_vol_free(ofs);
	return r;
}

/**
 * ovl_volatile_teardown - finish the session after the kernel unmount
 * @ofs: the mount; the workdir lock is still held
 *
 * Stops the harvest thread, flushes the upper (syncfs, which harvests
 * the errors since the last harvest), and for volatile mounts writes
 * the final checkpoint (clean or failed) and removes the marker if
 * clean. Safe to call once after a successful ovl_volatile_setup(),
 * and a no-op after a failed one.
 */
void ovl_volatile_teardown(struct ovl_fs *ofs)
{
	struct ovl_volatile *vol = ofs->vol;
	struct ovl_ckpt *ck;
	char t1[32];
	int r, status;

	if (!vol) {
		ovl_fault_free(ofs);
		return;
	}
	ovl_vol_stop_harvest(vol);
	/* Flush the upper and harvest what the flush and the past left. */
	(void)ovl_vol_sync_upper(ofs);
	if (!ofs->config.ovl_volatile || !vol->snap_taken)
		goto out_free;

	ck = &vol->ckpt;
	status = errseq_counter_check(&ofs->upper_err, &vol->snap);
	ovl_vol_fill_errors(vol, ck);
	ck->state = status ? OVL_CKPT_FAILED : OVL_CKPT_CLEAN;
	if (status && !ck->error_count) {
		/* The counter moved without ovl_upper_error(): be safe. */
		ck->error_count = 1;
		ck->first_errno = ck->last_errno = -status;
	}
	r = ovl_ckpt_save(ofs->state_fd, ck);
	if (r < 0) {
		/* Typically the upper's own failure, if it holds the workdir. */
		int r2 = ovl_ckpt_save_nosync(ofs->state_fd, ck);

		if (r2)
			ovl_log(LOG_ERR,
				"cannot write the final checkpoint: %s (and "
				"without fsync: %s); the volatile marker stays "
				"and the next mount will be refused",
				strerror(-r), strerror(-r2));
		else
			ovl_log(LOG_ERR,
				"cannot write the final checkpoint durably: "
				"%s; "
				"written without fsync (a crash brings back "
				"the "
				"\"mounted\" one); the volatile marker stays "
				"and "
				"the next mount will be refused",
				strerror(-r));
		goto out_free;
	}
	if (status) {
		ovl_log(LOG_ERR,
			"unmounted with %" PRIu32 " upper error(s) (first "
			"%s at %s): the volatile marker stays; the next "
			"mount of this upper will be refused",
			ck->error_count, ovl_vol_errname(ck->first_errno),
			ovl_vol_time(ck->first_error_ns, t1, sizeof(t1)));
		goto out_free;
	}
	r = ovl_vol_marker_remove(ofs);
	if (r < 0)
		ovl_log(LOG_ERR,
			"clean unmount, but the volatile marker could not "
			"be removed: %s",
			strerror(-r));
out_free:
	ovl_vol_free(ofs);
}
