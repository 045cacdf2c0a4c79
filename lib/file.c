// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * file.c - atomic, durable replacement of a small file.
 *
 * errseq_file_replace() is how snapshots (and callers' own records that
 * embed them) reach the disk. The sequence is the classic one, with the
 * final directory fsync that makes the rename itself durable:
 *
 *   1. open the directory (for step 6) before touching anything;
 *   2. create ".<name>.<16 hex>.tmp" next to the target with
 *      O_CREAT|O_EXCL|O_CLOEXEC, the suffix random so concurrent writers
 *      and leftovers of a crash never collide (EEXIST retries);
 *   3. write all bytes (short writes continue);
 *   4. fsync and close the temp file (a failing close is an error: some
 *      filesystems report write-back errors only there);
 *   5. renameat() the temp over the target;
 *   6. fsync the directory.
 *
 * A failure in steps 2-5 unlinks the temp file and leaves the target
 * untouched. A failure in step 6 is reported although the new file is
 * in place: its durability is not proven, and the caller must not act as
 * if it were. All calls go through sys.c so every step can be failed in
 * the unit tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "errseq/counter.h"
#include "internal.h"

/* Attempts at a fresh temp name before giving up with -EEXIST. */
#define ERRSEQ_FILE_TMP_TRIES 16
/* "." + name + "." + 16 hex digits + ".tmp" */
#define ERRSEQ_FILE_TMP_EXTRA (1 + 1 + 16 + 4)

/* Write all of @buf, continuing after short writes. */
static int errseq_file_write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = errseq_sys_write(fd, buf, len);

		if (n < 0)
			return (int)n;
		/* A regular file that accepts nothing: treat as full. */
		if (n == 0)
			return -ENOSPC;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create a new, uniquely named temp file for @name; returns its fd. */
static int errseq_file_create_tmp(int dirfd, const char *name, char *tmp,
				  size_t tmplen)
{
	int i, fd = -EEXIST;

	for (i = 0; i < ERRSEQ_FILE_TMP_TRIES && fd == -EEXIST; i++) {
		uint8_t rnd[8];
		unsigned long long v = 0;
		size_t k;

		errseq_random_fill(rnd, sizeof(rnd));
		for (k = 0; k < sizeof(rnd); k++)
			v = v << 8 | rnd[k];
		(void)snprintf(tmp, tmplen, ".%s.%016llx.tmp", name, v);
		fd = errseq_sys_openat(dirfd, tmp,
				       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
					       O_NOCTTY,
				       0644);
	}
	return fd;
}

/**
 * errseq_file_replace - atomically and durably replace a file's contents
 * @dirfd: directory holding the file (or AT_FDCWD)
 * @name: file name within @dirfd: not empty, no '/', not "." or "..",
 *	at most NAME_MAX - 22 bytes (room for the temp name's affixes)
 * @buf: the new contents
 * @len: their size
 *
 * Writes a uniquely named temp file in the same directory, fsyncs it,
 * renames it over @name and fsyncs the directory, so that after a crash
 * @name holds either the old or the new contents, never a mix.
 *
 * Context: may block in fsync(); hold no locks.
 * Return: 0 on success. -EINVAL for a bad @name, else the -errno of the
 * failing step: then no temp file is left and, unless the directory
 * fsync (the last step) failed, @name is exactly as before.
 */
ERRSEQ_EXPORT int errseq_file_replace(int dirfd, const char *name,
				      const void *buf, size_t len)
{
	char tmp[NAME_MAX + 1];
	size_t namelen;
	int dfd, fd, r;

	if (!name || (!buf && len))
		return -EINVAL;
	namelen = strlen(name);
	if (namelen == 0 || namelen + ERRSEQ_FILE_TMP_EXTRA > NAME_MAX ||
	    strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;

	/* Opened first so that a failure here changes nothing on disk. */
	dfd = errseq_sys_openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				0);
	if (dfd < 0)
		return dfd;

	fd = errseq_file_create_tmp(dirfd, name, tmp, sizeof(tmp));
	if (fd < 0) {
		r = fd;
		goto out_close_dir;
	}

	r = errseq_file_write_all(fd, buf, len);
	if (r == 0)
		r = errseq_sys_fsync(fd);
	if (r < 0) {
		(void)errseq_sys_close(fd); /* already failing; temp goes */
		goto out_unlink_tmp;
	}
	r = errseq_sys_close(fd);
	if (r < 0)
		goto out_unlink_tmp;

	r = errseq_sys_renameat(dirfd, tmp, dirfd, name);
	if (r < 0)
		goto out_unlink_tmp;

	/* The rename is only durable once the directory is. */
	r = errseq_sys_fsync(dfd);
	goto out_close_dir;

out_unlink_tmp:
	/* Best effort: the error being returned matters more. */
	(void)errseq_sys_unlinkat(dirfd, tmp, 0);
out_close_dir:
	/* Read-only directory fd: a failing close loses nothing. */
	(void)errseq_sys_close(dfd);
	return r;
}
