// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sys.c - the system call seam of liberrseq.
 *
 * Every raw system call the library makes goes through one of these thin
 * wrappers. They add nothing but the library's error convention: the
 * result of the call on success, -errno (read immediately after the
 * failing call) on failure. EINTR is retried here so callers never see
 * it.
 *
 * The file exists so that the unit tests can link tests/unit/sys_fault.c
 * in its place: the same symbols, able to fail the Nth call with a chosen
 * errno. Production builds pay no indirect call and carry no test hooks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int errseq_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd;

	do
		fd = openat(dirfd, path, flags, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

ssize_t errseq_sys_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t errseq_sys_write(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int errseq_sys_fsync(int fd)
{
	int r;

	do
		r = fsync(fd);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int errseq_sys_fstat(int fd, struct stat *ret)
{
	return fstat(fd, ret) < 0 ? -errno : 0;
}

int errseq_sys_renameat(int olddirfd, const char *oldpath, int newdirfd,
			const char *newpath)
{
	return renameat(olddirfd, oldpath, newdirfd, newpath) < 0 ? -errno : 0;
}

int errseq_sys_unlinkat(int dirfd, const char *path, int flags)
{
	return unlinkat(dirfd, path, flags) < 0 ? -errno : 0;
}

int errseq_sys_close(int fd)
{
	/* Never retried: on Linux the fd is gone even when close() fails. */
	return close(fd) < 0 ? -errno : 0;
}

ssize_t errseq_sys_getrandom(void *buf, size_t len, unsigned int flags)
{
	ssize_t n;

	do
		n = getrandom(buf, len, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int errseq_sys_clock_gettime(clockid_t clk, struct timespec *ret)
{
	return clock_gettime(clk, ret) < 0 ? -errno : 0;
}

pid_t errseq_sys_getpid(void)
{
	return getpid();
}
