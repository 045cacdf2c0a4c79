/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sys_fault.h - control of the fault-injecting replacement of lib/sys.c.
 */
#ifndef ERRSEQ_SYS_FAULT_H
#define ERRSEQ_SYS_FAULT_H

#include <stdbool.h>
#include <stddef.h>

/* Disarm everything and restart the call count at 0. */
void sys_fault_reset(void);
/* Make the @nth counted call from now (1-based) fail with -@err. */
void sys_fault_arm(unsigned int nth, int err);
/* Counted calls (I/O and getrandom) since the last reset. */
unsigned int sys_fault_calls(void);
/* Let every write transfer at most one byte. */
void sys_fault_short_writes(bool on);
/* Let every getrandom() fail with -EAGAIN (pool not ready). */
void sys_fault_no_random(bool on);
/* Let every write return 0 (accepts nothing). */
void sys_fault_zero_writes(bool on);

/*
 * Let reads return @len bytes of @data (then end of file) instead of
 * the file's contents; NULL restores real reads. @data must stay valid.
 */
void sys_fault_fake_read(const void *data, size_t len);

#endif /* ERRSEQ_SYS_FAULT_H */
