/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The volatile checkpoint: WORKDIR/errovl/volatile.ckpt.
 *
 * A volatile session writes it at mount (state "mounted") and at
 * unmount (state "clean" or "failed"); the next mount reads it to
 * decide whether the upper layer left by a volatile session can be
 * reused (see volatile.c and docs/volatile.md). errovlctl reads it
 * for "status --workdir" without a daemon, so this file depends on
 * liberrseq only, never on FUSE.
 *
 * The encoding is explicit little-endian with fixed offsets, a magic,
 * a version, the total length and a crc32c (Castagnoli, liberrseq's
 * errseq_crc32c) over everything before it. The liberrseq snapshot is
 * embedded in its own encoding (errseq_snapshot_encode), which carries
 * its own checks. The decoder rejects anything that does not match
 * exactly with -EINVAL: a checkpoint that cannot be read proves
 * nothing, and the caller treats it as "not clean".
 *
 * Layout, version 1 (offset: size field):
 *   0: 8 magic "ERROVLCK"      8: 4 version        12: 4 length (224)
 *  16: 4 state                20: 4 error count   24: 16 boot id
 *  40: 8 upper st_dev         48: 8 upper f_fsid  56: 8 upper mount id
 *  64: 8 upper root st_ino    72: 16 counter instance id
 *  88: 4 pid                  92: 4 first errno   96: 8 mount time ns
 * 104: 8 marker st_ino       112: 8 marker ctime ns
 * 120: 8 first error ns      128: 8 last error ns
 * 136: 4 last errno          140: 4 reserved (0)
 * 144: 64 errseq snapshot    208: 8 update time ns
 * 216: 4 reserved (0)        220: 4 crc32c of bytes 0..219
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "volatile.h"

#define OVL_CKPT_OFF_SNAP 144
#define OVL_CKPT_OFF_CRC 220

_Static_assert(OVL_CKPT_OFF_SNAP + ERRSEQ_SNAPSHOT_ENCODED_SIZE + 8 + 4 ==
		       OVL_CKPT_OFF_CRC,
	       "checkpoint layout");
_Static_assert(OVL_CKPT_OFF_CRC + 4 == OVL_CKPT_SIZE, "checkpoint size");
_Static_assert(sizeof(OVL_CKPT_MAGIC) == 8 + 1, "magic is 8 bytes");

/* The magic as it is on disk: 8 bytes, no terminating NUL. */
static const uint8_t ovl_ckpt_magic[8] = {'E', 'R', 'R', 'O',
					  'V', 'L', 'C', 'K'};

static void ovl_ckpt_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void ovl_ckpt_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t ovl_ckpt_get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t ovl_ckpt_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/**
 * ovl_ckpt_state_name - printable name of a checkpoint state
 * @state: enum ovl_ckpt_state value
 *
 * Return: "mounted", "clean", "failed" or "unknown".
 */
const char *ovl_ckpt_state_name(uint32_t state)
{
	switch (state) {
	case OVL_CKPT_MOUNTED:
		return "mounted";
	case OVL_CKPT_CLEAN:
		return "clean";
	case OVL_CKPT_FAILED:
		return "failed";
	default:
		return "unknown";
	}
}

/**
 * ovl_ckpt_encode - encode a checkpoint into its on-disk form
 * @ck: checkpoint to encode
 * @buf: output buffer
 * @len: size of @buf, at least OVL_CKPT_SIZE
 *
 * Return: OVL_CKPT_SIZE, or -EINVAL if @len is too small, the state is
 * invalid or the snapshot does not encode.
 */
int ovl_ckpt_encode(const struct ovl_ckpt *ck, void *buf, size_t len)
{
	uint8_t *p = buf;
	int r;

	if (len < OVL_CKPT_SIZE || ck->state < OVL_CKPT_MOUNTED ||
	    ck->state > OVL_CKPT_FAILED || ck->first_errno < 0 ||
	    ck->last_errno < 0)
		return -EINVAL;
	memset(p, 0, OVL_CKPT_SIZE);
	memcpy(p, ovl_ckpt_magic, sizeof(ovl_ckpt_magic));
	ovl_ckpt_put32(p + 8, OVL_CKPT_VERSION);
	ovl_ckpt_put32(p + 12, OVL_CKPT_SIZE);
	ovl_ckpt_put32(p + 16, ck->state);
	ovl_ckpt_put32(p + 20, ck->error_count);
	memcpy(p + 24, ck->boot_id, ERRSEQ_ID_SIZE);
	ovl_ckpt_put64(p + 40, ck->upper_dev);
	ovl_ckpt_put64(p + 48, ck->upper_fsid);
	ovl_ckpt_put64(p + 56, ck->upper_mnt_id);
	ovl_ckpt_put64(p + 64, ck->upper_ino);
	memcpy(p + 72, ck->instance, ERRSEQ_ID_SIZE);
	ovl_ckpt_put32(p + 88, ck->pid);
	ovl_ckpt_put32(p + 92, (uint32_t)ck->first_errno);
	ovl_ckpt_put64(p + 96, ck->mount_time_ns);
	ovl_ckpt_put64(p + 104, ck->marker_ino);
	ovl_ckpt_put64(p + 112, ck->marker_ctime_ns);
	ovl_ckpt_put64(p + 120, ck->first_error_ns);
	ovl_ckpt_put64(p + 128, ck->last_error_ns);
	ovl_ckpt_put32(p + 136, (uint32_t)ck->last_errno);
	r = errseq_snapshot_encode(&ck->snap, p + OVL_CKPT_OFF_SNAP,
				   ERRSEQ_SNAPSHOT_ENCODED_SIZE);
	if (r < 0)
		return -EINVAL;
	ovl_ckpt_put64(p + 208, ck->update_ns);
	ovl_ckpt_put32(p + OVL_CKPT_OFF_CRC,
		       errseq_crc32c(0, p, OVL_CKPT_OFF_CRC));
	return OVL_CKPT_SIZE;
}

/**
 * ovl_ckpt_decode - decode and validate an on-disk checkpoint
 * @buf: the bytes read from the file
 * @len: their number
 * @ret: decoded checkpoint, only written on success
 *
 * Every field is checked: magic, version, length (must equal @len),
 * crc32c, state, errno ranges, zero reserved words and the embedded
 * snapshot.
 *
 * Return: 0, or -EINVAL for anything that is not a valid version 1
 * checkpoint.
 */
int ovl_ckpt_decode(const void *buf, size_t len, struct ovl_ckpt *ret)
{
	const uint8_t *p = buf;
	struct ovl_ckpt ck;
	uint32_t v;

	if (len != OVL_CKPT_SIZE ||
	    memcmp(p, ovl_ckpt_magic, sizeof(ovl_ckpt_magic)) != 0 ||
	    ovl_ckpt_get32(p + 8) != OVL_CKPT_VERSION ||
	    ovl_ckpt_get32(p + 12) != OVL_CKPT_SIZE)
		return -EINVAL;
	if (ovl_ckpt_get32(p + OVL_CKPT_OFF_CRC) !=
	    errseq_crc32c(0, p, OVL_CKPT_OFF_CRC))
		return -EINVAL;
	if (ovl_ckpt_get32(p + 140) != 0 || ovl_ckpt_get32(p + 216) != 0)
		return -EINVAL;
	memset(&ck, 0, sizeof(ck));
	ck.state = ovl_ckpt_get32(p + 16);
	if (ck.state < OVL_CKPT_MOUNTED || ck.state > OVL_CKPT_FAILED)
		return -EINVAL;
	ck.error_count = ovl_ckpt_get32(p + 20);
	memcpy(ck.boot_id, p + 24, ERRSEQ_ID_SIZE);
	ck.upper_dev = ovl_ckpt_get64(p + 40);
	ck.upper_fsid = ovl_ckpt_get64(p + 48);
	ck.upper_mnt_id = ovl_ckpt_get64(p + 56);
	ck.upper_ino = ovl_ckpt_get64(p + 64);
	memcpy(ck.instance, p + 72, ERRSEQ_ID_SIZE);
	ck.pid = ovl_ckpt_get32(p + 88);
	v = ovl_ckpt_get32(p + 92);
	if (v > ERRSEQ_MAX_ERRNO)
		return -EINVAL;
	ck.first_errno = (int32_t)v;
	ck.mount_time_ns = ovl_ckpt_get64(p + 96);
	ck.marker_ino = ovl_ckpt_get64(p + 104);
	ck.marker_ctime_ns = ovl_ckpt_get64(p + 112);
	ck.first_error_ns = ovl_ckpt_get64(p + 120);
	ck.last_error_ns = ovl_ckpt_get64(p + 128);
	v = ovl_ckpt_get32(p + 136);
	if (v > ERRSEQ_MAX_ERRNO)
		return -EINVAL;
	ck.last_errno = (int32_t)v;
	if (errseq_snapshot_decode(p + OVL_CKPT_OFF_SNAP,
				   ERRSEQ_SNAPSHOT_ENCODED_SIZE, &ck.snap) < 0)
		return -EINVAL;
	ck.update_ns = ovl_ckpt_get64(p + 208);
	/* A failed session has at least one error; a clean one none. */
	if ((ck.state == OVL_CKPT_FAILED) != (ck.error_count != 0) &&
	    ck.state != OVL_CKPT_MOUNTED)
		return -EINVAL;
	*ret = ck;
	return 0;
}

/**
 * ovl_ckpt_save - atomically replace the checkpoint file
 * @dirfd: directory fd of WORKDIR/errovl/
 * @ck: checkpoint to write
 *
 * Uses errseq_file_replace(): temp file, fsync, rename, fsync of the
 * directory. On failure the previous checkpoint is left in place.
 *
 * Return: 0 or -errno.
 */
int ovl_ckpt_save(int dirfd, const struct ovl_ckpt *ck)
{
	uint8_t buf[OVL_CKPT_SIZE];
	int r;

	r = ovl_ckpt_encode(ck, buf, sizeof(buf));
	if (r < 0)
		return r;
	return errseq_file_replace(dirfd, OVL_CKPT_NAME, buf, sizeof(buf));
}

/**
 * ovl_ckpt_save_nosync - replace the checkpoint file without fsync
 * @dirfd: directory fd of WORKDIR/errovl/
 * @ck: checkpoint to write
 *
 * The fallback when ovl_ckpt_save() fails because the filesystem can
 * no longer write back (the very upper failure being recorded, when
 * the workdir shares its filesystem): temp file and rename, no fsync.
 * The new contents are visible until the next crash; after one, the
 * previous checkpoint (or none) is back, never a torn one.
 *
 * Return: 0 or -errno.
 */
int ovl_ckpt_save_nosync(int dirfd, const struct ovl_ckpt *ck)
{
	static const char tmp[] = "." OVL_CKPT_NAME ".nosync.tmp";
	uint8_t buf[OVL_CKPT_SIZE];
	ssize_t n;
	int fd, r;

	r = ovl_ckpt_encode(ck, buf, sizeof(buf));
	if (r < 0)
		return r;
	r = 0;
	(void)unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, sizeof(buf));
	if (n < 0)
		r = -errno;
	else if ((size_t)n != sizeof(buf))
		r = -ENOSPC;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dirfd, tmp, dirfd, OVL_CKPT_NAME) < 0)
		r = -errno;
	if (r)
		(void)unlinkat(dirfd, tmp, 0);
	return r;
}

/**
 * ovl_ckpt_load - read and decode the checkpoint file
 * @dirfd: directory fd of WORKDIR/errovl/
 * @ret: decoded checkpoint, only written on success
 *
 * Return: 0; -ENOENT if there is no checkpoint; -EINVAL if it exists
 * but is not a valid checkpoint (wrong size, corrupt, unknown version,
 * not a regular file); another -errno if it cannot be read.
 */
int ovl_ckpt_load(int dirfd, struct ovl_ckpt *ret)
{
	uint8_t buf[OVL_CKPT_SIZE + 1];
	struct stat st;
	size_t done = 0;
	ssize_t n;
	int fd, r;

	fd = openat(dirfd, OVL_CKPT_NAME,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out_close;
	}
	/* Read one byte more than needed to detect trailing garbage. */
	while (done < sizeof(buf)) {
		n = read(fd, buf + done, sizeof(buf) - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out_close;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	r = ovl_ckpt_decode(buf, done, ret);
out_close:
	close(fd);
	return r;
}
