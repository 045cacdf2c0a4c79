/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private declarations of errovlctl: one cmd_<verb>.c per subcommand,
 * shared helpers in main.c.
 */
#ifndef ERROVLCTL_H
#define ERROVLCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes, documented in --help and errovlctl(1). */
#define CTL_EXIT_OK 0 /* success; status: clean */
#define CTL_EXIT_FAIL 1 /* failure; status: inconsistent or unknown */
#define CTL_EXIT_USAGE 2 /* bad command line */

/* main.c */
void ctl_err(const char *what, int err);
int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *ctl_errname(int err);
int ctl_parse_errno(const char *s, int *ret);
const char *ctl_time(uint64_t ns, char *buf, size_t len);
void ctl_json_str(FILE *f, const char *s);
int ctl_open_mount(const char *path, int *ret_fd);

/* cmd_<verb>.c: argv[0] is the verb; return an exit code. */
int cmd_status(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_fault(int argc, char **argv);

#endif /* ERROVLCTL_H */
