/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * errovlctl: control and inspect errovl mounts.
 *
 * One subcommand per cmd_<verb>.c. Every error is printed once, as
 * "errovlctl: <what failed>: <strerror>", by the code that knows what
 * failed; exit codes: 0 ok (status: clean), 1 failed or inconsistent,
 * 2 usage. Talks to a live daemon through the ioctls of
 * include/errovl/control.h, and reads a workdir's checkpoint through
 * fs/checkpoint.c without a daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errovlctl.h"

#ifndef ERROVL_VERSION
#define ERROVL_VERSION "unknown"
#endif

static const char ctl_help[] =
	"Usage: errovlctl [--help] [--version] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  status [--json] MOUNTPOINT         live error state of an errovl "
	"mount\n"
	"  status [--json] --workdir WORKDIR  state recorded by the last "
	"volatile\n"
	"                                     session of WORKDIR (no daemon "
	"needed)\n"
	"  sync MOUNTPOINT                    syncfs(2) equivalent of the "
	"mount:\n"
	"                                     volatile: fails (EIO) once an "
	"upper\n"
	"                                     error was recorded; otherwise "
	"syncs\n"
	"                                     the upper and reports new "
	"errors\n"
	"\n"
	"Exit status:\n"
	"  0  success; status: clean\n"
	"  1  failure; status: inconsistent, or the state cannot be proven "
	"clean\n"
	"  2  usage error\n"
	"\n"
	"See errovlctl(1).\n";

/**
 * ctl_err - print "errovlctl: <what>: <strerror(err)>" on stderr
 * @what: what failed
 * @err: errno, either sign
 */
void ctl_err(const char *what, int err)
{
	fprintf(stderr, "errovlctl: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
}

/**
 * ctl_usage - report a usage error
 * @fmt: printf format of the problem
 *
 * Return: CTL_EXIT_USAGE.
 */
int ctl_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("errovlctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'errovlctl --help'.\n", stderr);
	return CTL_EXIT_USAGE;
}

/**
 * ctl_errname - symbolic name of an errno
 * @err: errno, either sign
 *
 * Return: "EIO" and the like, or "E?" for an unknown value.
 */
const char *ctl_errname(int err)
{
	const char *s = strerrorname_np(err < 0 ? -err : err);

	return s ? s : "E?";
}

/**
 * ctl_parse_errno - parse an errno given as a name or a number
 * @s: "EIO", "eio", "5", or "0"/"none" to disarm
 * @ret: positive errno or 0, only written on success
 *
 * Return: 0 or -EINVAL.
 */
int ctl_parse_errno(const char *s, int *ret)
{
	char *end;
	long v;

	if (!strcmp(s, "none")) {
		*ret = 0;
		return 0;
	}
	if (*s >= '0' && *s <= '9') {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || *end || v < 0 || v > 4095)
			return -EINVAL;
		*ret = (int)v;
		return 0;
	}
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcasecmp(n, s)) {
			*ret = e;
			return 0;
		}
	}
	return -EINVAL;
}

/**
 * ctl_time - format a CLOCK_REALTIME nanosecond value as ISO 8601 UTC
 * @ns: nanoseconds since the epoch, 0 for "never"
 * @buf: output
 * @len: its size
 *
 * Return: @buf.
 */
const char *ctl_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
	return buf;
}

/**
 * ctl_json_str - print a JSON string literal
 * @f: output stream
 * @s: UTF-8 or arbitrary bytes; control characters are escaped
 */
void ctl_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/**
 * ctl_open_mount - open a file or directory of a mount for an ioctl
 * @path: mount point (or any path inside the mount)
 * @ret_fd: the fd, only set on success
 *
 * Prints the error itself.
 *
 * Return: 0 or -errno.
 */
int ctl_open_mount(const char *path, int *ret_fd)
{
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int r = -errno;

		ctl_err(path, r);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int main(int argc, char **argv)
{
	const char *verb;

	if (argc < 2)
		return ctl_usage("missing command");
	verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		fputs(ctl_help, stdout);
		return CTL_EXIT_OK;
	}
	if (!strcmp(verb, "--version")) {
		printf("errovlctl %s\n", ERROVL_VERSION);
		return CTL_EXIT_OK;
	}
	if (!strcmp(verb, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(verb, "sync"))
		return cmd_sync(argc - 1, argv + 1);
	/* Test-only, not in --help; see errovlctl(1), section TESTING. */
	if (!strcmp(verb, "fault"))
		return cmd_fault(argc - 1, argv + 1);
	return ctl_usage("unknown command '%s'", verb);
}
