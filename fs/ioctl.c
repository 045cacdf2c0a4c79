/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placeholder: replaced by the control interface. */
#include <errno.h>
#include <fuse_lowlevel.h>

#include "ovl.h"

void ovl_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		  struct fuse_file_info *fi, unsigned int flags,
		  const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	fuse_reply_err(req, ENOTTY);
}
