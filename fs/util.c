// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Small helpers shared by the daemon: logging (stderr in the
 * foreground, syslog once daemonised), whiteout and opaque detection
 * for both on-disk dialects (kernel overlayfs and fuse-overlayfs), the
 * private-name filters, st_ino composition and temp names in work/.
 *
 * On-disk dialects read here:
 *  - kernel: a 0/0 character device is a whiteout; a directory with
 *    overlay.opaque = "y" (trusted. or, with userxattr, user.) hides
 *    the lowers. Only the first byte counts: "x" is not opaque.
 *  - fuse-overlayfs: ".wh.NAME" is a whiteout of NAME; a directory
 *    holding ".wh..wh..opq" or with user.fuseoverlayfs.opaque = "y" is
 *    opaque. Such names are never shown.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/capability.h>
#include <time.h>
#include <unistd.h>

#include "ovl.h"

/* Set once the daemon detached from its terminal. */
bool ovl_log_to_syslog;

/**
 * ovl_log - log one line, to stderr or syslog
 * @prio: syslog priority
 * @fmt: printf format, without the trailing newline
 */
void ovl_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (ovl_log_to_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "errovl: %s\n", line);
	}
	va_end(ap);
}

/**
 * ovl_fs - the mount a request belongs to
 * @req: the request
 *
 * Return: the struct ovl_fs given to fuse_session_new() as userdata.
 */
struct ovl_fs *ovl_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/**
 * ovl_proc_path - the /proc path that reopens an O_PATH fd
 * @buf: room for the path; an int always fits
 * @fd: the fd
 *
 * Return: @buf.
 */
const char *ovl_proc_path(char buf[OVL_PROC_PATH_MAX], int fd)
{
	snprintf(buf, OVL_PROC_PATH_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

/**
 * ovl_is_whiteout - is this the kernel's whiteout, a 0/0 char device?
 * @st: stat of the real object
 *
 * Return: true for a whiteout.
 */
bool ovl_is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/**
 * ovl_name_is_private - is @name a fuse-overlayfs marker, never shown?
 * @name: directory entry name
 *
 * Return: true for ".wh.*" names (whiteouts and opaque sentinels).
 */
bool ovl_name_is_private(const char *name)
{
	return !strncmp(name, ".wh.", 4);
}

/**
 * ovl_xattr_is_private - is the real xattr @name an overlay marker?
 * @ofs: the mount (its namespace: trusted.overlay. or user.overlay.)
 * @name: xattr name as stored on a layer
 *
 * Like the kernel, the mount's own namespace is private except the
 * escaped names "<ns>overlay.*", which hold what applications stored
 * as "<ns>*" (see ovl_xattr_escape()). fuse-overlayfs's
 * user.fuseoverlayfs.* markers are private too.
 *
 * Return: true when the name must not be shown nor copied up.
 */
bool ovl_xattr_is_private(struct ovl_fs *ofs, const char *name)
{
	size_t l = strlen(ofs->xattr_prefix);

	if (!strncmp(name, "user.fuseoverlayfs.", 19))
		return true;
	return !strncmp(name, ofs->xattr_prefix, l) &&
	       strncmp(name + l, "overlay.", 8) != 0;
}

/**
 * ovl_xattr_escape - the real name of an xattr an application names
 * @ofs: the mount
 * @name: the name the application used
 * @buf: output, OVL_XATTR_NAME_MAX bytes
 *
 * "<ns>X" in the mount's own namespace is stored as "<ns>overlay.X"
 * (kernel overlayfs xattr escaping, so overlays can nest); every other
 * name is stored as is.
 *
 * Return: 0, or -ERANGE when the escaped name is too long.
 */
int ovl_xattr_escape(struct ovl_fs *ofs, const char *name,
		     char buf[OVL_XATTR_NAME_MAX])
{
	size_t l = strlen(ofs->xattr_prefix);
	int n;

	if (strncmp(name, ofs->xattr_prefix, l))
		n = snprintf(buf, OVL_XATTR_NAME_MAX, "%s", name);
	else
		n = snprintf(buf, OVL_XATTR_NAME_MAX, "%soverlay.%s",
			     ofs->xattr_prefix, name + l);
	return n < 0 || n >= OVL_XATTR_NAME_MAX ? -ERANGE : 0;
}

/*
 * getxattrat(2) and listxattrat(2) (Linux 6.13) reach a file by
 * directory fd and name, where the older calls need a path: through
 * /proc/self/fd/N that path costs a walk of /proc on every call, about
 * 2-3 us, more than the call itself. glibc 2.36 has no wrappers, and
 * older kernel headers no numbers: those below are the ones of the
 * common syscall table (x86_64, aarch64, and most others; not alpha,
 * mips, ia64, where -1 makes the calls fail with ENOSYS and /proc is
 * used).
 */
#if defined(__alpha__) || defined(__mips__) || defined(__ia64__)
#define OVL_NR_COMMON(nr) (-1)
#else
#define OVL_NR_COMMON(nr) (nr)
#endif
#ifndef __NR_getxattrat
#define __NR_getxattrat OVL_NR_COMMON(464)
#endif
#ifndef __NR_listxattrat
#define __NR_listxattrat OVL_NR_COMMON(465)
#endif

struct ovl_xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

static bool ovl_no_xattrat;

/*
 * A call newer than some kernels failed with @err: whether to do it the
 * older way. ENOSYS (the kernel predates the call) turns the newer call
 * off for good (*@off). EPERM is also what a seccomp profile that does
 * not know the call answers; it turns the call off once the older way
 * succeeds (ovl_fallback_settle(); ENODATA, no such xattr, counts), a
 * genuine EPERM stays one.
 */
static bool ovl_fallback(bool *off, int err)
{
	if (err == ENOSYS)
		__atomic_store_n(off, true, __ATOMIC_RELAXED);
	return err == ENOSYS || err == EPERM;
}

/* Returns @r, the older way's result after the newer call's @err. */
static ssize_t ovl_fallback_settle(bool *off, int err, ssize_t r)
{
	if (err == EPERM && (r >= 0 || r == -ENODATA))
		__atomic_store_n(off, true, __ATOMIC_RELAXED);
	return r;
}

/*
 * Whether an *xattrat() failure may succeed through /proc: the call is
 * missing or filtered (ovl_fallback()), or @name is "." in a directory
 * the daemon may not search (/proc/self/fd/N needs no search of it; a
 * name in it does).
 */
static bool ovl_xattrat_retry(int err, const char *name)
{
	return ovl_fallback(&ovl_no_xattrat, err) ||
	       (err == EACCES && !strcmp(name, "."));
}

/*
 * The /proc path of @name in @dirfd for the path-based xattr calls.
 * Returns true when the path must be followed: /proc/self/fd/N, which
 * "." means, is a symlink to @dirfd itself; a name is not followed.
 */
static bool ovl_xattr_proc_path(char p[OVL_PROC_PATH_MAX + NAME_MAX + 1],
				int dirfd, const char *name)
{
	if (!strcmp(name, ".")) {
		ovl_proc_path(p, dirfd);
		return true;
	}
	snprintf(p, OVL_PROC_PATH_MAX + NAME_MAX + 1, "/proc/self/fd/%d/%s",
		 dirfd, name);
	return false;
}

/**
 * ovl_getxattr_at - read an xattr of a real object, not following symlinks
 * @dirfd: O_PATH fd of the directory holding the object, or of a
 *         directory itself with @name "."
 * @name: the object's name in @dirfd
 * @xname: the xattr
 * @buf: room for the value, or NULL with @size 0 to ask for its size
 * @size: size of @buf
 *
 * Return: the value's size, or -errno (-ENODATA: no such xattr).
 */
ssize_t ovl_getxattr_at(int dirfd, const char *name, const char *xname,
			void *buf, size_t size)
{
	char p[OVL_PROC_PATH_MAX + NAME_MAX + 1];
	struct ovl_xattr_args a = {(uintptr_t)buf, (uint32_t)size, 0};
	ssize_t n;
	int err = 0;

	if (!__atomic_load_n(&ovl_no_xattrat, __ATOMIC_RELAXED)) {
		n = syscall(__NR_getxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW,
			    xname, &a, sizeof(a));
		if (n >= 0)
			return n;
		err = errno;
		if (!ovl_xattrat_retry(err, name))
			return -err;
	}
	n = ovl_xattr_proc_path(p, dirfd, name)
		    ? getxattr(p, xname, buf, size)
		    : lgetxattr(p, xname, buf, size);
	return ovl_fallback_settle(&ovl_no_xattrat, err, n < 0 ? -errno : n);
}

/**
 * ovl_listxattr_at - list the xattr names of a real object, not following symlinks
 * @dirfd: as for ovl_getxattr_at()
 * @name: as for ovl_getxattr_at()
 * @list: room for the NUL-separated names
 * @size: size of @list
 *
 * Return: the list's size, or -errno (-ERANGE: @list is too small).
 */
ssize_t ovl_listxattr_at(int dirfd, const char *name, char *list, size_t size)
{
	char p[OVL_PROC_PATH_MAX + NAME_MAX + 1];
	ssize_t n;
	int err = 0;

	if (!__atomic_load_n(&ovl_no_xattrat, __ATOMIC_RELAXED)) {
		n = syscall(__NR_listxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW,
			    list, size);
		if (n >= 0)
			return n;
		err = errno;
		if (!ovl_xattrat_retry(err, name))
			return -err;
	}
	n = ovl_xattr_proc_path(p, dirfd, name) ? listxattr(p, list, size)
						: llistxattr(p, list, size);
	return ovl_fallback_settle(&ovl_no_xattrat, err, n < 0 ? -errno : n);
}

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 OVL_NR_COMMON(452)
#endif

static bool ovl_no_fchmodat2;

/**
 * ovl_chmod_at - chmod a real object, not following symlinks
 * @dirfd: fd of the directory holding the object, or (O_PATH too) of
 *         the object itself with @name ""
 * @name: the object's name in @dirfd, or ""
 * @mode: the new permission bits
 *
 * fchmodat2(2) (Linux 6.6) takes an O_PATH fd (AT_EMPTY_PATH) and
 * refuses symlinks; older kernels go through /proc/self/fd of an O_PATH
 * fd (of @name, opened without following it).
 *
 * Return: 0 or -errno.
 */
int ovl_chmod_at(int dirfd, const char *name, mode_t mode)
{
	char p[OVL_PROC_PATH_MAX];
	int flags = name[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
	int err = 0, fd = dirfd, r = 0;

	if (!__atomic_load_n(&ovl_no_fchmodat2, __ATOMIC_RELAXED)) {
		if (syscall(__NR_fchmodat2, dirfd, name, mode, flags) == 0)
			return 0;
		err = errno;
		if (!ovl_fallback(&ovl_no_fchmodat2, err))
			return -err;
	}
	/* By an O_PATH fd: a symlink swapped in is not followed. */
	if (name[0])
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || chmod(ovl_proc_path(p, fd), mode) < 0)
		r = -errno;
	if (fd >= 0 && fd != dirfd)
		close(fd);
	return (int)ovl_fallback_settle(&ovl_no_fchmodat2, err, r);
}

/**
 * ovl_utimens_at - set the times of a real object, not following symlinks
 * @dirfd: as for ovl_chmod_at()
 * @name: as for ovl_chmod_at()
 * @tv: access and modification times, as for utimensat(2)
 *
 * utimensat(2) takes AT_EMPTY_PATH since Linux 5.8; older kernels
 * refuse it (EINVAL) and go through /proc/self/fd.
 *
 * Return: 0 or -errno.
 */
int ovl_utimens_at(int dirfd, const char *name, const struct timespec tv[2])
{
	char p[OVL_PROC_PATH_MAX];

	if (name[0])
		return utimensat(dirfd, name, tv, AT_SYMLINK_NOFOLLOW) < 0
			       ? -errno
			       : 0;
	if (utimensat(dirfd, "", tv, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	return utimensat(AT_FDCWD, ovl_proc_path(p, dirfd), tv, 0) < 0 ? -errno
								       : 0;
}

/* Whether @name is in the NUL-separated xattr name list @list (@n bytes). */
static bool ovl_xattr_listed(const char *list, ssize_t n, const char *name)
{
	for (const char *e = list; e < list + n; e += strlen(e) + 1)
		if (!strcmp(e, name))
			return true;
	return false;
}

/**
 * ovl_get_opaque - is the real directory @fd opaque?
 * @ofs: the mount (selects the xattr namespace)
 * @fd: O_PATH fd of a real directory
 * @ret_opaque: 1 when opaque, 0 when not
 *
 * Return: 0 or -errno.
 */
int ovl_get_opaque(struct ovl_fs *ofs, int fd, int *ret_opaque)
{
	static const char fovl[] = "user.fuseoverlayfs.opaque";
	char x[64], list[1024], v[4];
	bool has_x = true, has_fovl = true;
	struct stat st;
	ssize_t n;

	*ret_opaque = 0;
	snprintf(x, sizeof(x), "%sopaque", ofs->xattr_prefix);
	/* One listing says which marks there are to read: usually none. */
	n = ovl_listxattr_at(fd, ".", list, sizeof(list));
	if (n >= 0) {
		has_x = ovl_xattr_listed(list, n, x);
		has_fovl = ovl_xattr_listed(list, n, fovl);
	} else if (n == -EOPNOTSUPP) {
		has_x = has_fovl = false;
	} else if (n != -ERANGE) {
		return (int)n;
	}
	n = has_x ? ovl_getxattr_at(fd, ".", x, v, sizeof(v)) : -ENODATA;
	if (n < 0 && n != -ENODATA && n != -ERANGE && n != -EOPNOTSUPP)
		return (int)n;
	if (n > 0 && v[0] == 'y') {
		*ret_opaque = 1;
		return 0;
	}
	n = has_fovl ? ovl_getxattr_at(fd, ".", fovl, v, sizeof(v)) : -ENODATA;
	if (n > 0 && v[0] == 'y') {
		*ret_opaque = 1;
		return 0;
	}
	*ret_opaque =
		fstatat(fd, ".wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW) == 0;
	return 0;
}

/**
 * ovl_file_xattrs - what the xattr names of a real regular file say
 * @ofs: the mount
 * @dirfd: O_PATH fd of its directory
 * @name: its name there
 * @ret_metacopy: 1 when it carries overlay.metacopy
 * @ret_no_caps: 1 when it has no security.capability, 0 when it has
 *               one or that is not known
 *
 * A metacopy file (written by kernel overlayfs with metacopy=on) has
 * the owner, mode, times and size of the object but no data: that is
 * in a lower layer. Its overlay.metacopy value is empty or a version
 * byte with a digest (fs-verity), which errovl does not check.
 *
 * One listxattr() of the file itself (a symlink is not followed), which
 * lookups of regular files pay instead of opening each one.
 *
 * Return: 0, or -errno (logged) when the names cannot be read.
 */
int ovl_file_xattrs(struct ovl_fs *ofs, int dirfd, const char *name,
		    int *ret_metacopy, int *ret_no_caps)
{
	char list[1024], x[64];
	ssize_t n;

	*ret_metacopy = 0;
	*ret_no_caps = 0;
	snprintf(x, sizeof(x), "%smetacopy", ofs->xattr_prefix);
	n = ovl_listxattr_at(dirfd, name, list, sizeof(list));
	if (n == -ERANGE) {
		/* Too many names to list here: ask for the one needed. */
		n = ovl_getxattr_at(dirfd, name, x, NULL, 0);
		if (n >= 0 || n == -ENODATA || n == -EOPNOTSUPP) {
			*ret_metacopy = n >= 0;
			return 0;
		}
	} else if (n == -EOPNOTSUPP) {
		*ret_no_caps = 1;
		return 0;
	}
	if (n < 0) {
		ovl_log(LOG_ERR, "cannot read the xattrs of '%s': %s", name,
			strerror((int)-n));
		return (int)n;
	}
	*ret_metacopy = ovl_xattr_listed(list, n, x);
	*ret_no_caps = !ovl_xattr_listed(list, n, "security.capability");
	return 0;
}

/*
 * Checks a redirect: "name", or "/a/b" without empty components.
 * Returns 0, -EINVAL for another form, -EACCES for a "." or ".."
 * component (what the kernel's lookup of one says).
 */
static int ovl_redirect_check(const char *p)
{
	const char *s = p, *next;
	int r = 0;

	if (*p != '/') {
		if (!*p || strchr(p, '/'))
			return -EINVAL;
		return strcmp(p, ".") && strcmp(p, "..") ? 0 : -EACCES;
	}
	for (; *s == '/'; s = next) {
		s++;
		next = strchrnul(s, '/');
		if (next == s)
			return -EINVAL;
		if ((next - s == 1 && s[0] == '.') ||
		    (next - s == 2 && s[0] == '.' && s[1] == '.'))
			r = -EACCES;
	}
	return r;
}

/**
 * ovl_get_redirect - read the overlay.redirect of a real object
 * @ofs: the mount
 * @dirfd: O_PATH fd of a directory
 * @at: the object's name in @dirfd, or "." for the directory itself
 * @name: the object's name, for the log
 * @ret: a malloc'd copy, or NULL when it has none
 *
 * A redirect says where the lower parts of a renamed directory (or the
 * data of a renamed metacopy file) are:
 * one name, looked up in the parent's lower directories instead of the
 * directory's own name, or an absolute path ("/a/b") looked up from
 * each lower layer's root. Anything else is refused (logged) with the
 * kernel's errno.
 *
 * Return: 0, -EINVAL (a malformed redirect), -EACCES (a "." or ".."
 * component), -errno.
 */
int ovl_get_redirect(struct ovl_fs *ofs, int dirfd, const char *at,
		     const char *name, char **ret)
{
	char x[64], buf[PATH_MAX];
	ssize_t n;
	int r;

	*ret = NULL;
	snprintf(x, sizeof(x), "%sredirect", ofs->xattr_prefix);
	n = ovl_getxattr_at(dirfd, at, x, buf, sizeof(buf) - 1);
	if (n == -ENODATA || n == -EOPNOTSUPP)
		return 0;
	if (n < 0 && n != -ERANGE)
		return (int)n;
	if (n < 0) {
		r = -EINVAL;
	} else {
		buf[n] = '\0';
		r = strlen(buf) == (size_t)n ? ovl_redirect_check(buf)
					     : -EINVAL;
	}
	if (r == 0) {
		*ret = strdup(buf);
		return *ret ? 0 : -ENOMEM;
	}
	ovl_log(LOG_ERR, "'%s' has an invalid overlayfs redirect: %s", name,
		strerror(-r));
	return r;
}

/**
 * ovl_set_xattr - write one of errovl's private xattrs on a real object
 * @ofs: the mount (selects the xattr namespace)
 * @fd: O_PATH fd of the object
 * @what: the name after the prefix: "opaque", "redirect", "origin", ...
 * @value: the value
 * @len: its size
 *
 * Return: 0 or -errno.
 */
int ovl_set_xattr(struct ovl_fs *ofs, int fd, const char *what,
		  const void *value, size_t len)
{
	char x[64], p[OVL_PROC_PATH_MAX];

	snprintf(x, sizeof(x), "%s%s", ofs->xattr_prefix, what);
	return setxattr(ovl_proc_path(p, fd), x, value, len, 0) < 0 ? -errno
								    : 0;
}

/**
 * ovl_compose_ino - the st_ino shown for a real inode of a layer
 * @ofs: the mount
 * @layer: 0 for the upper, 1.. for the lowers
 * @ino: real st_ino
 *
 * With every layer on one filesystem the real number is unique and is
 * shown as is. Otherwise the layer index goes in the high bits (the
 * kernel's xino idea), so numbers of different layers never collide
 * while the real ones fit below xino_shift.
 *
 * Return: the st_ino (and readdir d_ino) to report.
 */
ino_t ovl_compose_ino(struct ovl_fs *ofs, unsigned int layer, ino_t ino)
{
	if (ofs->samefs || !ofs->config.xino)
		return ino;
	if (ino >> ofs->xino_shift)
		return ino; /* does not fit: show as is, like xino overflow */
	return ino | ((ino_t)layer << ofs->xino_shift);
}

/**
 * ovl_tmpname - a unique name for a temp object in work/
 * @ofs: the mount
 * @buf: output
 * @len: its size
 */
void ovl_tmpname(struct ovl_fs *ofs, char *buf, size_t len)
{
	unsigned long long n = ++ofs->tmp_seq;

	snprintf(buf, len, "#errovl.%d.%llx", (int)ofs->pid, n);
}

/**
 * ovl_clock_ns - read a clock
 * @clock: CLOCK_MONOTONIC, CLOCK_REALTIME, ...
 *
 * Return: its time in nanoseconds.
 */
uint64_t ovl_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/**
 * ovl_thread_create - start a helper thread that takes no signals
 * @tid: the thread
 * @fn: its function
 * @arg: its argument
 *
 * Signals (unmount by SIGTERM, Ctrl-C) must reach the thread reading
 * /dev/fuse, whose read() they interrupt; helpers block them all.
 *
 * Return: 0 or -errno.
 */
int ovl_thread_create(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(tid, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

/**
 * ovl_opendir_at - open a directory as a stream for reading
 * @dirfd: the directory holding @name, or the directory itself with "."
 * @name: the entry to open; a symlink is not followed
 * @ret: the stream (closedir() it), NULL on failure
 *
 * Return: 0 or -errno.
 */
int ovl_opendir_at(int dirfd, const char *name, DIR **ret)
{
	DIR *d;
	int fd, r;

	*ret = NULL;
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret = d;
	return 0;
}

/**
 * ovl_rm_tree_at - remove @name below @dirfd, recursively
 * @parent_fd: parent directory
 * @name: entry to remove
 *
 * Used on temp objects in work/ only. Follows no symlinks.
 *
 * Return: 0 or -errno (ENOENT counts as done).
 */
int ovl_rm_tree_at(int parent_fd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int r;

	if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	r = ovl_opendir_at(parent_fd, name, &d);
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = ovl_rm_tree_at(dirfd(d), de->d_name);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r == 0 && unlinkat(parent_fd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

/**
 * ovl_capable - does the daemon have capability @cap (effective)?
 * @cap: a CAP_* number
 *
 * Return: true when it has; false when not, or when capget(2) fails.
 */
bool ovl_capable(int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}
