/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private declarations shared by the liberrseq sources. Not installed.
 */
#ifndef ERRSEQ_INTERNAL_H
#define ERRSEQ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* Marks a definition as part of the public ABI (see liberrseq.map). */
#define ERRSEQ_EXPORT __attribute__((visibility("default")))

/*
 * sys.c: the only place that issues raw system calls. Every function
 * returns the non-negative result of the call, or -errno read right
 * after it. tests/unit/sys_fault.c provides the same symbols to inject
 * failures; the rest of the library never calls libc I/O directly.
 */
int errseq_sys_openat(int dirfd, const char *path, int flags, mode_t mode);
ssize_t errseq_sys_read(int fd, void *buf, size_t len);
ssize_t errseq_sys_write(int fd, const void *buf, size_t len);
int errseq_sys_fsync(int fd);
int errseq_sys_fstat(int fd, struct stat *ret);
int errseq_sys_renameat(int olddirfd, const char *oldpath, int newdirfd,
			const char *newpath);
int errseq_sys_unlinkat(int dirfd, const char *path, int flags);
int errseq_sys_close(int fd);
ssize_t errseq_sys_getrandom(void *buf, size_t len, unsigned int flags);
int errseq_sys_clock_gettime(clockid_t clk, struct timespec *ret);
pid_t errseq_sys_getpid(void);

/* counter.c */
void errseq_random_fill(void *buf, size_t len);

#endif /* ERRSEQ_INTERNAL_H */
