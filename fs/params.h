/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef OVL_PARAMS_H
#define OVL_PARAMS_H

#include <stdbool.h>

/* Validated mount configuration; built by params.c, read-only afterwards. */
struct ovl_config {
	char **lowerdirs; /* absolute paths, top-most first */
	unsigned int nr_lower;
	char *upperdir; /* absolute path or NULL (read-only merge) */
	char *workdir; /* absolute path or NULL */
	char *mountpoint; /* absolute path */

	bool ovl_volatile; /* -o volatile / fsync=0 */
	bool volatile_discard; /* -o volatile_discard: drop old state */
	unsigned int harvest_interval_ms; /* -o harvest_interval=SECONDS */
	bool test_faults; /* -o test_faults: enable fault.c (tests) */
	bool userxattr; /* -o userxattr */
};

#endif /* OVL_PARAMS_H */
