// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sys_fault.c - lib/sys.c with failures on demand, for the unit tests.
 *
 * Provides every errseq_sys_*() symbol of lib/internal.h. Each I/O call
 * and getrandom() is counted; sys_fault_arm(n, err) makes the nth counted
 * call after it fail with -err. A failing close() or unlinkat() still
 * performs the real call first, like the kernel (the fd is gone), so a
 * test never leaks descriptors. Other switches force short writes,
 * zero-length writes and an unavailable random pool. State is global and
 * atomic; tests that use it run single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sys_fault.h"

static unsigned int sys_fault_count;
static unsigned int sys_fault_nth;
static int sys_fault_err;
static bool sys_fault_short;
static bool sys_fault_zero;
static bool sys_fault_norandom;
static const unsigned char *sys_fault_fake;
static size_t sys_fault_fake_len;

void sys_fault_reset(void)
{
	__atomic_store_n(&sys_fault_count, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sys_fault_nth, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sys_fault_short, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sys_fault_zero, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sys_fault_norandom, false, __ATOMIC_SEQ_CST);
	sys_fault_fake = NULL;
}

void sys_fault_arm(unsigned int nth, int err)
{
	__atomic_store_n(&sys_fault_count, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sys_fault_err, err, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sys_fault_nth, nth, __ATOMIC_SEQ_CST);
}

unsigned int sys_fault_calls(void)
{
	return __atomic_load_n(&sys_fault_count, __ATOMIC_SEQ_CST);
}

void sys_fault_short_writes(bool on)
{
	__atomic_store_n(&sys_fault_short, on, __ATOMIC_SEQ_CST);
}

void sys_fault_zero_writes(bool on)
{
	__atomic_store_n(&sys_fault_zero, on, __ATOMIC_SEQ_CST);
}

void sys_fault_no_random(bool on)
{
	__atomic_store_n(&sys_fault_norandom, on, __ATOMIC_SEQ_CST);
}

void sys_fault_fake_read(const void *data, size_t len)
{
	sys_fault_fake = data;
	sys_fault_fake_len = len;
}

/* Count one call; return -err if it is the armed one, else 0. */
static int sys_fault_hit(void)
{
	unsigned int n =
		__atomic_add_fetch(&sys_fault_count, 1, __ATOMIC_SEQ_CST);
	unsigned int nth = __atomic_load_n(&sys_fault_nth, __ATOMIC_SEQ_CST);

	if (nth && n == nth)
		return -__atomic_load_n(&sys_fault_err, __ATOMIC_SEQ_CST);
	return 0;
}

int errseq_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd, r = sys_fault_hit();

	if (r)
		return r;
	fd = openat(dirfd, path, flags, mode);
	return fd < 0 ? -errno : fd;
}

ssize_t errseq_sys_read(int fd, void *buf, size_t len)
{
	ssize_t n;
	int r = sys_fault_hit();

	if (r)
		return r;
	if (sys_fault_fake) {
		n = (ssize_t)(len < sys_fault_fake_len ? len
						       : sys_fault_fake_len);
		memcpy(buf, sys_fault_fake, (size_t)n);
		sys_fault_fake += n;
		sys_fault_fake_len -= (size_t)n;
		return n;
	}
	n = read(fd, buf, len);
	return n < 0 ? -errno : n;
}

ssize_t errseq_sys_write(int fd, const void *buf, size_t len)
{
	ssize_t n;
	int r = sys_fault_hit();

	if (r)
		return r;
	if (__atomic_load_n(&sys_fault_zero, __ATOMIC_SEQ_CST))
		return 0;
	if (len > 1 && __atomic_load_n(&sys_fault_short, __ATOMIC_SEQ_CST))
		len = 1;
	n = write(fd, buf, len);
	return n < 0 ? -errno : n;
}

int errseq_sys_fsync(int fd)
{
	int r = sys_fault_hit();

	if (r)
		return r;
	return fsync(fd) < 0 ? -errno : 0;
}

int errseq_sys_fstat(int fd, struct stat *ret)
{
	int r = sys_fault_hit();

	if (r)
		return r;
	return fstat(fd, ret) < 0 ? -errno : 0;
}

int errseq_sys_renameat(int olddirfd, const char *oldpath, int newdirfd,
			const char *newpath)
{
	int r = sys_fault_hit();

	if (r)
		return r;
	return renameat(olddirfd, oldpath, newdirfd, newpath) < 0 ? -errno : 0;
}

int errseq_sys_unlinkat(int dirfd, const char *path, int flags)
{
	int r = sys_fault_hit();
	int u = unlinkat(dirfd, path, flags) < 0 ? -errno : 0;

	return r ? r : u;
}

int errseq_sys_close(int fd)
{
	int r = sys_fault_hit();
	int c = close(fd) < 0 ? -errno : 0;

	return r ? r : c;
}

ssize_t errseq_sys_getrandom(void *buf, size_t len, unsigned int flags)
{
	ssize_t n;
	int r = sys_fault_hit();

	if (r)
		return r;
	if (__atomic_load_n(&sys_fault_norandom, __ATOMIC_SEQ_CST))
		return -EAGAIN;
	n = getrandom(buf, len, flags);
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
