/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placeholder: replaced by the volatile-mode implementation. */
#include <errno.h>

#include "ovl.h"

int ovl_volatile_setup(struct ovl_fs *ofs)
{
	errseq_counter_init(&ofs->upper_err);
	ofs->sb_err = 0;
	return ofs->config.ovl_volatile ? -EOPNOTSUPP : 0;
}

void ovl_volatile_teardown(struct ovl_fs *ofs)
{
}

int ovl_sync_status(struct ovl_fs *ofs)
{
	return 1;
}

void ovl_upper_error(struct ovl_fs *ofs, int err, const char *what)
{
	(void)errseq_set(&ofs->sb_err, err);
}
