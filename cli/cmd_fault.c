/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * errovlctl fault MOUNTPOINT SITE ERRNO [COUNT]: arm a fault site of a
 * daemon mounted with -o test_faults (tests only; not listed in
 * --help, documented in errovlctl(1) under TESTING).
 * SITE: write, copy_up, harvest, fsync. ERRNO: name (EIO) or number;
 * 0 or "none" disarms. COUNT: number of calls to fail, or "always"
 * (the default).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "errovl/control.h"
#include "errovlctl.h"

static const char *const cmd_fault_sites[ERROVL_FAULT_NR] = {
	[ERROVL_FAULT_WRITE] = "write",
	[ERROVL_FAULT_COPY_UP] = "copy_up",
	[ERROVL_FAULT_HARVEST] = "harvest",
	[ERROVL_FAULT_FSYNC] = "fsync",
};

static int cmd_fault_site(const char *s, unsigned int *ret)
{
	for (unsigned int i = 0; i < ERROVL_FAULT_NR; i++) {
		if (!strcasecmp(s, cmd_fault_sites[i])) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int cmd_fault_count(const char *s, int *ret)
{
	char *end;
	long v;

	if (!strcmp(s, "always")) {
		*ret = ERROVL_FAULT_ALWAYS;
		return 0;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > 1000000000)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/**
 * cmd_fault - errovlctl fault MOUNTPOINT SITE ERRNO [COUNT] (tests only)
 * @argc: argument count, argv[0] is "fault"
 * @argv: arguments
 *
 * Return: CTL_EXIT_OK, CTL_EXIT_FAIL with the error printed once, or
 * CTL_EXIT_USAGE.
 */
int cmd_fault(int argc, char **argv)
{
	struct errovl_fault f = {.version = ERROVL_FAULT_VERSION};
	char what[4200];
	int fd, r;

	if (argc < 4 || argc > 5)
		return ctl_usage("usage: errovlctl fault MOUNTPOINT "
				 "write|copy_up|harvest|fsync ERRNO [COUNT]");
	if (cmd_fault_site(argv[2], &f.site) < 0)
		return ctl_usage("unknown fault site '%s'", argv[2]);
	if (ctl_parse_errno(argv[3], &f.error) < 0)
		return ctl_usage("invalid errno '%s'", argv[3]);
	f.count = ERROVL_FAULT_ALWAYS;
	if (argc == 5 && cmd_fault_count(argv[4], &f.count) < 0)
		return ctl_usage("invalid count '%s'", argv[4]);
	if (ctl_open_mount(argv[1], &fd) < 0)
		return CTL_EXIT_FAIL;
	r = ioctl(fd, ERROVL_IOC_FAULT, &f) < 0 ? -errno : 0;
	close(fd);
	if (!r)
		return CTL_EXIT_OK;
	if (r == -ENOTTY)
		snprintf(what, sizeof(what),
			 "fault %s: not an errovl mount with -o test_faults",
			 argv[1]);
	else
		snprintf(what, sizeof(what), "fault %s", argv[1]);
	ctl_err(what, r);
	return CTL_EXIT_FAIL;
}
