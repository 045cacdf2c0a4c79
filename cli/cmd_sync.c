/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * errovlctl sync MOUNTPOINT: the syncfs(2) equivalent of an errovl
 * mount (ERROVL_IOC_SYNC on a freshly opened handle of MOUNTPOINT).
 * Like syncfs on a new fd, a non-volatile mount reports an upper error
 * recorded since the handle was opened, or a flush failure; a volatile
 * mount fails with EIO on every call once an upper error was recorded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "errovl/control.h"
#include "errovlctl.h"

/**
 * cmd_sync - errovlctl sync MOUNTPOINT
 * @argc: argument count, argv[0] is "sync"
 * @argv: arguments
 *
 * Return: CTL_EXIT_OK, CTL_EXIT_FAIL with the error printed once, or
 * CTL_EXIT_USAGE.
 */
int cmd_sync(int argc, char **argv)
{
	char what[4200];
	int fd, r;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage("usage: errovlctl sync MOUNTPOINT");
	if (ctl_open_mount(argv[1], &fd) < 0)
		return CTL_EXIT_FAIL;
	r = ioctl(fd, ERROVL_IOC_SYNC) < 0 ? -errno : 0;
	close(fd);
	if (!r)
		return CTL_EXIT_OK;
	if (r == -ENOTTY)
		snprintf(what, sizeof(what), "sync %s: not an errovl mount",
			 argv[1]);
	else
		snprintf(what, sizeof(what), "sync %s", argv[1]);
	ctl_err(what, r);
	return CTL_EXIT_FAIL;
}
