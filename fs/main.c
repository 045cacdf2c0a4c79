// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * errovl: an overlay filesystem in userspace (libfuse3 low level),
 * mounted with kernel overlayfs option names.
 *
 *   errovl [-f] [-d] [-s] [-h] [-V] -o lowerdir=L1:L2,upperdir=U,
 *          workdir=W[,opts] [SOURCE] MOUNTPOINT
 *
 * The argument order of mount.fuse3 ("errovl SOURCE MNT -o opts") and
 * of a direct call are both accepted; SOURCE only names the mount
 * (fsname). Steps, in order: parse and validate the options, fork
 * unless -f (the parent waits for the child's mount and exits with its
 * status), open the layers, lock and clean the workdir, set up volatile
 * mode, mount, detach from the terminal, run the multi-threaded loop,
 * unmount, mark the lock "finalizing", tear volatile mode down, release
 * the lock. Any failure before the mount prints one line on stderr and
 * exits 1. Forking first keeps threads (volatile mode's harvest thread)
 * and locks out of fork().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ovl.h"

#ifndef ERROVL_VERSION
#define ERROVL_VERSION "unknown"
#endif

static void ovl_main_usage(FILE *f)
{
	fprintf(f,
		"usage: errovl [-f] [-d] [-s] [-h] [-V] -o OPTIONS [SOURCE] "
		"MOUNTPOINT\n"
		"\n"
		"  -f                  stay in the foreground (log to stderr)\n"
		"  -d                  trace every request (implies -f)\n"
		"  -s                  single-threaded loop (same as -o "
		"threaded=0)\n"
		"  -h, --help          this help\n"
		"  -V, --version       print the version\n"
		"\n"
		"Overlay options (kernel overlayfs names):\n"
		"  lowerdir=L1[:L2...] lower layers, top-most first (\\: and "
		"\\\\ escape)\n"
		"  upperdir=DIR        writable upper layer (omit for a "
		"read-only merge\n"
		"                      of at least two lowers)\n"
		"  workdir=DIR         work directory on the upper's "
		"filesystem\n"
		"  userxattr           use user.overlay.* instead of "
		"trusted.overlay.*\n"
		"  redirect_dir=on|follow|off|nofollow\n"
		"                      on: directories with lower parts can be "
		"renamed;\n"
		"                      default off: redirects are read, not "
		"written\n"
		"  index=off, metacopy=off, nfs_export=off, xino=off|auto|on\n"
		"                      accepted; other values of the first "
		"three are errors\n"
		"  volatile, fsync=0   volatile mode: never sync the upper, "
		"track upper\n"
		"                      errors (see errovl(8) and "
		"docs/volatile.md)\n"
		"  fsync=1             not volatile (default)\n"
		"  volatile_discard    discard the state of an unclean "
		"volatile session\n"
		"  harvest_interval=S  volatile: seconds between upper error "
		"checks\n"
		"                      (default 5, 0 disables)\n"
		"  test_faults         enable fault injection through the "
		"control ioctl\n"
		"  writeback=0|1       FUSE writeback cache (default 1; off "
		"with passthrough)\n"
		"  passthrough=0|1     the kernel reads and writes upper files "
		"itself\n"
		"                      (default 1: when it can, see "
		"errovl(8))\n"
		"  threaded=0|1        multi-threaded loop (default 1)\n"
		"  spin=US             the reader polls this long for the next "
		"request\n"
		"                      before it sleeps (default 50, 0 = "
		"never)\n"
		"  readahead=KIB       readahead window of the mount (default "
		"1024,\n"
		"                      0 = the kernel's, 128)\n"
		"  uring=0|1           requests through io_uring queues per "
		"CPU\n"
		"                      (default 1: when the kernel offers it, "
		"see errovl(8))\n"
		"  timeout=S           entry and attribute cache timeout "
		"(default 3600)\n"
		"  noacl               do not enforce POSIX ACLs (they stay "
		"xattrs)\n"
		"\n"
		"FUSE and mount options passed on: allow_other, allow_root,\n"
		"default_permissions (always on), fsname=, subtype=, "
		"max_read=,\n"
		"auto_unmount, rw, ro, suid, nosuid, dev, nodev, exec, noexec, "
		"sync, async,\n"
		"dirsync, atime, noatime, diratime, nodiratime, relatime, "
		"norelatime,\n"
		"strictatime, nostrictatime (the atime ones applied after "
		"mounting);\nfstab-only options\n"
		"(defaults, auto, noauto, nofail, _netdev, user, users, x-*) "
		"are ignored.\n"
		"\n"
		"Exit status: 0 after a clean unmount, 1 on any setup "
		"error.\n");
}

/* Command line state besides the options. */
struct ovl_main_args {
	const char *source;
	bool foreground, debug, help, version;
};

static int ovl_main_parse(int argc, char **argv, struct ovl_config *cfg,
			  struct ovl_main_args *a)
{
	const char *pos[3];
	int npos = 0, r;
	char *err = NULL;
	bool dashdash = false;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char *opts = NULL;

		if (dashdash || s[0] != '-' || !s[1]) {
			if (npos == 2) {
				fprintf(stderr,
					"errovl: unexpected argument "
					"'%s'\n",
					s);
				return -EINVAL;
			}
			pos[npos++] = s;
			continue;
		}
		if (!strcmp(s, "--")) {
			dashdash = true;
		} else if (!strcmp(s, "-f")) {
			a->foreground = true;
		} else if (!strcmp(s, "-d") || !strcmp(s, "--debug")) {
			a->debug = a->foreground = true;
		} else if (!strcmp(s, "-s")) {
			cfg->threaded = false;
		} else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			a->help = true;
		} else if (!strcmp(s, "-V") || !strcmp(s, "--version")) {
			a->version = true;
		} else if (!strcmp(s, "-o")) {
			if (i + 1 == argc) {
				fprintf(stderr, "errovl: -o needs a value\n");
				return -EINVAL;
			}
			opts = argv[++i];
		} else if (!strncmp(s, "-o", 2)) {
			opts = s + 2;
		} else {
			fprintf(stderr, "errovl: unknown flag '%s' (see -h)\n",
				s);
			return -EINVAL;
		}
		if (opts) {
			r = ovl_params_parse(cfg, opts, &err);
			if (r < 0) {
				fprintf(stderr, "errovl: %s\n",
					err ? err : strerror(-r));
				free(err);
				return r;
			}
		}
	}
	if (a->help || a->version)
		return 0;
	if (npos == 0) {
		fprintf(stderr, "errovl: missing mountpoint (see -h)\n");
		return -EINVAL;
	}
	if (npos == 2)
		a->source = pos[0];
	cfg->mountpoint = strdup(pos[npos - 1]);
	if (!cfg->mountpoint)
		return -ENOMEM;
	r = ovl_params_validate(cfg, &err);
	if (r < 0) {
		fprintf(stderr, "errovl: %s\n", err ? err : strerror(-r));
		free(err);
	}
	return r;
}

/* The libfuse option string: our defaults, then what the user passed. */
static char *ovl_main_fuse_opts(struct ovl_config *cfg, const char *source)
{
	const char *user = cfg->fuse_opts ? cfg->fuse_opts : "";
	bool has_fsname = strstr(user, "fsname=") != NULL;
	bool has_subtype = strstr(user, "subtype=") != NULL;
	char *s;

	/* Like a kernel overlay mounted by root: set-id and devices work. */
	if (asprintf(&s, "default_permissions%s%s%s%s%s%s",
		     geteuid() == 0 ? ",suid,dev" : "",
		     has_subtype ? "" : ",subtype=errovl",
		     has_fsname ? "" : ",fsname=",
		     has_fsname ? "" : (source ? source : "errovl"),
		     *user ? "," : "", user) < 0)
		return NULL;
	return s;
}

static void ovl_main_raise_nofile(void)
{
	struct rlimit rl;
	unsigned long nr_open = 0;
	FILE *f;

	/*
	 * Every node the kernel knows holds O_PATH fds: as root, raise
	 * the hard limit to the system's maximum, else the soft one to
	 * the hard one.
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	f = fopen("/proc/sys/fs/nr_open", "re");
	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (nr_open > rl.rlim_max) {
		struct rlimit want = {nr_open, nr_open};

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Forks before anything is set up: no thread, lock or FUSE fd exists
 * yet, so the child inherits a clean process. The parent waits for one
 * status byte from the child (0 once mounted, 1 on failure) and exits
 * with it, so "errovl ... MNT" still returns only when the mount is
 * usable, and setup errors still give exit status 1.
 */
static int ovl_main_daemonize(int *ret_status_fd)
{
	int p[2];
	pid_t pid;
	char st = 1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			st = 1;
		_exit(st ? EXIT_FAILURE : EXIT_SUCCESS);
	}
	close(p[0]);
	(void)setsid();
	*ret_status_fd = p[1];
	return 0;
}

/* Tells the waiting parent how setup went and detaches from the tty. */
static void ovl_main_detach(int *status_fd, char st)
{
	int fd;

	if (st == 0) {
		/* Failures after this point go to syslog. */
		openlog("errovl", LOG_PID, LOG_DAEMON);
		ovl_log_to_syslog = true;
		if (chdir("/") < 0)
			ovl_log(LOG_WARNING, "chdir /: %s", strerror(errno));
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			(void)dup2(fd, 0);
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
			close(fd);
		}
	}
	(void)!write(*status_fd, &st, 1);
	close(*status_fd);
	*status_fd = -1;
}

/* Applies the atime options libfuse cannot pass (mount_setattr(2)). */
static int ovl_main_mount_attrs(struct ovl_fs *ofs)
{
	struct mount_attr attr = {
		.attr_set = ofs->config.mnt_attr_set,
		.attr_clr = ofs->config.mnt_attr_clr,
	};

	if (!attr.attr_set && !attr.attr_clr)
		return 0;
	if (syscall(SYS_mount_setattr, AT_FDCWD, ofs->config.mountpoint, 0,
		    &attr, sizeof(attr)) < 0) {
		int r = -errno;

		ovl_log(LOG_ERR, "cannot apply the atime options to %s: %s",
			ofs->config.mountpoint, strerror(-r));
		return r;
	}
	return 0;
}

/*
 * Ends the session: unmounts it if it was mounted, removes its signal
 * handlers if @signals (they were installed), destroys it. Afterwards
 * ofs->se is NULL, so what runs at teardown (releasing the handles of
 * files still open) knows the FUSE device is gone.
 */
static void ovl_main_end_session(struct ovl_fs *ofs, bool signals)
{
	fuse_session_unmount(ofs->se); /* nothing when not mounted */
	if (signals)
		fuse_remove_signal_handlers(ofs->se);
	fuse_session_destroy(ofs->se);
	ofs->se = NULL;
}

static int ovl_main_run(struct ovl_fs *ofs, const struct ovl_main_args *a,
			int *status_fd)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	char *opts;
	int r;

	opts = ovl_main_fuse_opts(&ofs->config, a->source);
	if (!opts || fuse_opt_add_arg(&args, "errovl") ||
	    fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, opts)) {
		free(opts);
		fuse_opt_free_args(&args);
		return -ENOMEM;
	}
	free(opts);
	se = fuse_session_new(&args, &ovl_ops, sizeof(ovl_ops), ofs);
	fuse_opt_free_args(&args);
	if (!se) {
		ovl_log(LOG_ERR, "cannot create the FUSE session");
		return -EINVAL;
	}
	ofs->se = se;
	r = fuse_set_signal_handlers(se);
	if (r < 0) {
		ovl_main_end_session(ofs, false);
		return -EIO;
	}
	if (fuse_session_mount(se, ofs->config.mountpoint) != 0) {
		ovl_log(LOG_ERR, "cannot mount on %s", ofs->config.mountpoint);
		ovl_main_end_session(ofs, true);
		return -EIO;
	}
	r = ovl_main_mount_attrs(ofs);
	if (r < 0) {
		ovl_main_end_session(ofs, true);
		return r;
	}
	ovl_super_mounted(ofs);
	if (*status_fd >= 0)
		ovl_main_detach(status_fd, 0);
	r = ovl_loop_run(ofs, se);
	if (r < 0)
		ovl_log(LOG_ERR, "FUSE session ended: %s", strerror(-r));
	ovl_main_end_session(ofs, true);
	return 0;
}

int main(int argc, char **argv)
{
	struct ovl_main_args a = {0};
	struct ovl_fs ofs;
	int status_fd = -1, r;

	memset(&ofs, 0, sizeof(ofs));
	ofs.upper_fd = ofs.workdir_fd = ofs.work_fd = -1;
	ofs.state_fd = ofs.lock_fd = -1;
	ofs.own_uid = geteuid();
	ofs.own_gid = getegid();
	ovl_config_init(&ofs.config);
	r = ovl_main_parse(argc, argv, &ofs.config, &a);
	if (r < 0 || a.help || a.version) {
		if (a.help)
			ovl_main_usage(stdout);
		else if (a.version)
			printf("errovl %s (libfuse %s)\n", ERROVL_VERSION,
			       fuse_pkgversion());
		ovl_config_done(&ofs.config);
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	ofs.debug = a.debug;
	ofs.foreground = a.foreground;
	if (!a.foreground) {
		r = ovl_main_daemonize(&status_fd);
		if (r < 0) {
			fprintf(stderr, "errovl: fork: %s\n", strerror(-r));
			ovl_config_done(&ofs.config);
			return EXIT_FAILURE;
		}
	}
	ofs.pid = getpid();
	/* The kernel applied the caller's umask already. */
	umask(0);
	ovl_main_raise_nofile();
	r = ovl_super_setup(&ofs);
	if (r == 0)
		r = ovl_volatile_setup(&ofs);
	if (r == 0) {
		r = ovl_main_run(&ofs, &a, &status_fd);
		(void)ovl_lock_set_state(&ofs, "finalizing");
		ovl_volatile_teardown(&ofs);
	}
	if (status_fd >= 0)
		ovl_main_detach(&status_fd, 1);
	ovl_lock_release(&ofs);
	ovl_super_free(&ofs);
	ovl_config_done(&ofs.config);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
