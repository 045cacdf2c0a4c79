// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * errseq.c - a lock-free error sequence, bit-compatible with the kernel's.
 *
 * An errseq_t records errors in one place and lets any number of
 * subscribers find out whether an error happened since they last looked.
 * Each subscriber keeps only a 4-byte cursor; the source is one 32-bit word.
 *
 * Layout of the word (identical to Linux lib/errseq.c):
 *   bits  0..11  the positive errno of the latest error (1..4095)
 *   bit  12      ERRSEQ_SEEN: some subscriber has observed this value
 *   bits 13..31  a 19-bit counter, bumped by a set that replaces a seen value
 *
 * All zeroes is the valid epoch ("never an error"). After the first set
 * the errno bits are never zero again, so the word never returns to 0.
 *
 * The word is only changed with compare-and-swap; there are no locks, so
 * every function here may be called from any thread, and from a signal
 * handler when 32-bit atomics are lock-free (they are on every Linux ABI).
 *
 * Known weakness, by design: the counter only moves when somebody has
 * seen the current value, so errors that nobody has looked at coalesce,
 * and 2^19 seen-then-set cycles bring the word back to an old value (a
 * stale cursor then compares equal). errseq_counter (counter.c) closes
 * both holes for passive observers. Bumping the counter only after a
 * subscriber saw the value is what keeps collisions rare in practice.
 *
 * Deliberate difference from the kernel: a cursor that differs from the
 * word while the word carries no errno (only possible with a cursor from
 * another errseq_t, or a re-created one) is reported as -EIO instead of 0,
 * so a foreign or stale cursor can never read as "clean".
 */
#include <errno.h>

#include "errseq/errseq.h"
#include "internal.h"

/*
 * Lock-free on every target, so usable from signal handlers and in shared
 * memory; a build for a target without 32-bit lock-free atomics fails.
 */
_Static_assert(__atomic_always_lock_free(sizeof(errseq_t), 0),
	       "errseq_t needs lock-free 32-bit atomics");

/* Loads observe every store that released before them. */
static inline errseq_t errseq_load(errseq_t *eseq)
{
	return __atomic_load_n(eseq, __ATOMIC_ACQUIRE);
}

/*
 * One compare-and-swap. On failure *old is updated to the current value,
 * like the kernel's cmpxchg() returning it.
 */
static inline int errseq_cas(errseq_t *eseq, errseq_t *old, errseq_t new)
{
	return __atomic_compare_exchange_n(eseq, old, new, 0, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

/* The error to report for a word that differs from the caller's cursor. */
static inline int errseq_report(errseq_t cur)
{
	int err = (int)(cur & ERRSEQ_MAX_ERRNO);

	/* Differs but holds no errno: a foreign cursor; fail closed. */
	return err ? -err : -EIO;
}

/**
 * errseq_set - record an error in an errseq_t
 * @eseq: the errseq_t to update
 * @err: the error, a negative errno in [-4095, -1]
 *
 * The new value carries @err in its errno bits and has ERRSEQ_SEEN clear.
 * If the replaced value had been seen, the counter is incremented so that
 * every cursor that saw it will notice the change. If it had not been
 * seen, the counter stays: the new error coalesces with the unseen one,
 * and setting the same errno again changes nothing at all.
 *
 * An @err of 0, a positive value or one below -4095 is refused without
 * touching the word (zero would wipe an earlier error).
 *
 * When two setters race to store the same value, both succeed and the
 * counter moves once: a failed swap that finds exactly our new value
 * counts as done.
 *
 * Context: any; lock-free.
 * Return: the previous value of the word on a successful update, the
 * unchanged value if there was nothing to do or @err is invalid. This is
 * for debugging only; never use it as a cursor (ERRSEQ_SEEN is clear).
 */
ERRSEQ_EXPORT errseq_t errseq_set(errseq_t *eseq, int err)
{
	errseq_t cur, old;

	old = errseq_load(eseq);

	/* Refuse 0 (it would erase an error) and anything outside errno. */
	if (err >= 0 || err < -(int)ERRSEQ_MAX_ERRNO)
		return old;

	for (;;) {
		errseq_t new;

		/* Keep the counter, replace the errno, clear SEEN. */
		new = (old & ~(ERRSEQ_MAX_ERRNO | ERRSEQ_SEEN)) |
		      (errseq_t)-err;

		/* Only bump the counter if someone has looked at the value. */
		if (old & ERRSEQ_SEEN)
			new += ERRSEQ_CTR_INC;

		/* Unseen and the same errno: coalesce, nothing to store. */
		if (new == old) {
			cur = new;
			break;
		}

		cur = old;
		if (errseq_cas(eseq, &cur, new)) {
			cur = old;
			break;
		}

		/* Another setter stored exactly our value: that is success. */
		if (cur == new)
			break;

		/* Lost a race with a different update: recompute from it. */
		old = cur;
	}
	return cur;
}

/**
 * errseq_sample - take a cursor for later errseq_check() calls
 * @eseq: the errseq_t to sample
 *
 * Returns the current value if it has been seen, and 0 otherwise. So a
 * new subscriber is told about an error nobody has observed yet (every
 * error is reported at least once), but not about errors that someone
 * already reported.
 *
 * Context: any; a single load, never writes.
 * Return: the cursor to pass to errseq_check() or the check-and-advance
 * functions.
 */
ERRSEQ_EXPORT errseq_t errseq_sample(errseq_t *eseq)
{
	errseq_t old = errseq_load(eseq);

	/* An unseen error must still be reported to this subscriber. */
	if (!(old & ERRSEQ_SEEN))
		old = 0;
	return old;
}

/**
 * errseq_check - has an error been recorded since a cursor was taken?
 * @eseq: the errseq_t to test
 * @since: a cursor from errseq_sample() or a check-and-advance function
 *
 * Compares all 32 bits exactly, ERRSEQ_SEEN included. Never writes, so
 * it neither marks the error seen nor moves any cursor.
 *
 * Context: any; a single load.
 * Return: 0 if the word still equals @since, otherwise the negative errno
 * of the latest error, or -EIO if the word differs but carries no errno
 * (a cursor that did not come from @eseq).
 */
ERRSEQ_EXPORT int errseq_check(errseq_t *eseq, errseq_t since)
{
	errseq_t cur = errseq_load(eseq);

	if (cur == since)
		return 0;
	return errseq_report(cur);
}

/*
 * Mark @old seen if it is not already. A lost race is ignored on purpose:
 * either a setter stored a newer error (which differs from the cursor the
 * caller is about to store, so it is reported at the next check), or
 * another subscriber set ERRSEQ_SEEN first. A word without errno bits is
 * never marked: ERRSEQ_SEEN on the epoch would invent a value no set made.
 */
static errseq_t errseq_mark_seen(errseq_t *eseq, errseq_t old)
{
	errseq_t new = old | ERRSEQ_SEEN;

	if (!(old & ERRSEQ_MAX_ERRNO))
		return old;
	if (new != old)
		(void)errseq_cas(eseq, &old, new);
	return new;
}

/**
 * errseq_check_and_advance - report an error once and move the cursor
 * @eseq: the errseq_t to test
 * @since: the caller's cursor; updated when an error is reported
 *
 * If the word equals *@since, returns 0 without writing anything.
 * Otherwise marks the word seen (so that the next set bumps the counter
 * and new subscribers no longer get this error), stores the seen value
 * in *@since and reports the error.
 *
 * *@since is plain memory: concurrent calls on one cursor must be
 * serialised by the caller, or the cursor can move backwards and an
 * error can be reported twice. errseq_cursor_check_and_advance() needs
 * no such lock.
 *
 * Context: any, with calls on the same @since serialised by the caller.
 * Return: 0 if nothing changed, else the negative errno of the latest
 * error, or -EIO if the word differs from *@since but carries no errno.
 */
ERRSEQ_EXPORT int errseq_check_and_advance(errseq_t *eseq, errseq_t *since)
{
	errseq_t old, new;

	old = errseq_load(eseq);
	if (old == *since)
		return 0;

	new = errseq_mark_seen(eseq, old);
	*since = new;
	return errseq_report(new);
}

/**
 * errseq_cursor_check_and_advance - lock-free check-and-advance of a
 *	shared cursor
 * @eseq: the errseq_t to test
 * @cursor: a cursor shared by any number of threads; only accessed
 *	atomically
 *
 * The lock-free counterpart of the kernel's file_check_and_advance_wb_err()
 * pattern. It first compares without writing; only if the word differs
 * does it mark it seen and then claim the report by moving *@cursor with a
 * compare-and-swap from the value it compared against. A caller that
 * loses that swap did not report anything; it starts over from the cursor
 * the winner stored. Hence each change of the word is reported to at most
 * one caller per cursor, and the cursor only ever moves to a value read
 * from the word after the one it held.
 *
 * Context: any; lock-free. All other accesses to *@cursor must be atomic
 * too (a plain read of an aligned errseq_t is fine once no thread can
 * call this function any more).
 * Return: 0 if the word equals the cursor, else the negative errno of the
 * latest error, or -EIO if it differs but carries no errno.
 */
ERRSEQ_EXPORT int errseq_cursor_check_and_advance(errseq_t *eseq,
						  errseq_t *cursor)
{
	errseq_t since, old, new;

	since = __atomic_load_n(cursor, __ATOMIC_ACQUIRE);
	for (;;) {
		/* Lockless fast path: the common "nothing happened" case. */
		old = errseq_load(eseq);
		if (old == since)
			return 0;

		new = errseq_mark_seen(eseq, old);

		/* Whoever moves the cursor off @since reports the change. */
		if (__atomic_compare_exchange_n(cursor, &since, new, 0,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return errseq_report(new);

		/* Lost: @since now holds the winner's cursor; look again. */
	}
}
