// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * counter.c - errseq_counter: an errseq_t that passive observers can trust.
 *
 * A plain errseq_t cannot tell an observer that never marks errors seen
 * about every later error: while the value is unseen, errors coalesce
 * (the same errno twice leaves the word unchanged), and 2^19 seen-then-set
 * cycles bring the counter back to an old value. errseq_counter pairs the
 * kernel-exact word with a 32-bit `errors` word:
 *
 *   errseq  the errseq_t, updated exactly as errseq_set() does
 *   errors  incremented once per valid set, after the errseq update
 *
 * A snapshot is the pair (errseq with ERRSEQ_SEEN masked, errors) plus
 * the counter's random instance id. Checking compares the pair again:
 * every set that completed after the snapshot moved `errors`, so it is
 * seen even if the errseq word did not change; ignoring ERRSEQ_SEEN means
 * other subscribers marking the value seen never look like a new error.
 * The only remaining collision is 2^32 sets between snapshot and check.
 *
 * Ordering: a setter stores errseq (acq_rel CAS) and then increments
 * errors with release. A snapshot reads errors (acquire), errseq, errors
 * again and retries if the two reads differ; a set racing with it can
 * yield (new errseq, old errors), which the next check reports: a false
 * positive, never a miss. Checking reads errors first, then errseq; it
 * only loads, so any number of observers never disturb real subscribers.
 *
 * Design choice: counting every valid set (not only the coalesced ones)
 * keeps set simple (one fetch-add) and makes the 19-bit wrap irrelevant.
 * A packed 64-bit word would make snapshots exact but needs lock-free
 * 64-bit atomics and a different struct layout, so it was not used.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "errseq/counter.h"
#include "internal.h"

/* How often a snapshot retries when a setter races with it. */
#define ERRSEQ_COUNTER_SNAPSHOT_TRIES 64

/* Process-wide sequence: no two fallback ids of one process are equal. */
static uint64_t errseq_counter_seq;

/* splitmix64 finaliser: spreads the fallback inputs over 64 bits. */
static uint64_t errseq_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * Fill @buf with bytes that differ between calls when the kernel's random
 * pool is not available. The last 12 bytes (when @len allows) carry the
 * pid and the process sequence unmixed, so two ids made in one boot by
 * live processes can never be equal; the rest mixes clocks and addresses.
 */
static void errseq_fallback_fill(uint8_t *buf, size_t len)
{
	struct timespec rt = {0}, mono = {0};
	uint64_t seq, pid, h;
	size_t i;

	seq = __atomic_fetch_add(&errseq_counter_seq, 1, __ATOMIC_RELAXED);
	pid = (uint64_t)errseq_sys_getpid();
	(void)errseq_sys_clock_gettime(CLOCK_REALTIME, &rt);
	(void)errseq_sys_clock_gettime(CLOCK_MONOTONIC, &mono);

	h = errseq_mix64((uint64_t)rt.tv_sec ^ ((uint64_t)rt.tv_nsec << 32));
	h = errseq_mix64(h ^ (uint64_t)mono.tv_sec ^
			 ((uint64_t)mono.tv_nsec << 29));
	h = errseq_mix64(h ^ (uint64_t)(uintptr_t)buf ^ (pid << 40) ^ seq);

	for (i = 0; i < len; i++) {
		if (i % 8 == 0 && i)
			h = errseq_mix64(h);
		buf[i] = (uint8_t)(h >> (8 * (i % 8)));
	}
	if (len >= 12) {
		for (i = 0; i < 4; i++)
			buf[len - 12 + i] = (uint8_t)(pid >> (8 * i));
		for (i = 0; i < 8; i++)
			buf[len - 8 + i] = (uint8_t)(seq >> (8 * i));
	}
}

/*
 * Fill @buf with random bytes from getrandom(GRND_NONBLOCK), falling back
 * to errseq_fallback_fill() when the pool is not ready or the call fails.
 * Never fails and never blocks.
 */
void errseq_random_fill(void *buf, size_t len)
{
	ssize_t n;

	n = errseq_sys_getrandom(buf, len, GRND_NONBLOCK);
	if (n < 0 || (size_t)n != len)
		errseq_fallback_fill(buf, len);
}

/**
 * errseq_counter_init - initialise a counter with no error and a new id
 * @c: the counter; the caller owns the memory
 *
 * Sets both words to zero and gives the counter a fresh 128-bit instance
 * id, so snapshots taken from an earlier counter (or an earlier life of
 * this one) never compare as clean against it. The id comes from
 * getrandom() without blocking; if that fails it is built from the
 * clocks, the pid, an address and a process-wide sequence.
 *
 * Context: not concurrently with any other use of @c; hand @c to other
 * threads afterwards through the usual synchronisation (thread creation,
 * a mutex), since the instance id is plain memory.
 * Return: nothing; this cannot fail.
 */
ERRSEQ_EXPORT void errseq_counter_init(struct errseq_counter *c)
{
	__atomic_store_n(&c->errseq, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->errors, 0, __ATOMIC_RELAXED);
	errseq_random_fill(c->instance, sizeof(c->instance));
}

/**
 * errseq_counter_set - record an error in a counter
 * @c: the counter
 * @err: the error, a negative errno in [-4095, -1]
 *
 * Updates the errseq word exactly like errseq_set(), so subscribers that
 * use errseq_sample()/errseq_check_and_advance() on &@c->errseq see
 * kernel behaviour, then increments @c->errors. Every valid set moves
 * @c->errors, including a set that coalesces with an unseen error of the
 * same errno and leaves the errseq word unchanged.
 *
 * Context: any; lock-free.
 * Return: 0, or -EINVAL for an invalid @err (nothing is changed).
 */
ERRSEQ_EXPORT int errseq_counter_set(struct errseq_counter *c, int err)
{
	if (err >= 0 || err < -(int)ERRSEQ_MAX_ERRNO)
		return -EINVAL;

	(void)errseq_set(&c->errseq, err);
	/* Release: whoever sees the new count also sees the errseq store. */
	__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELEASE);
	return 0;
}

/**
 * errseq_counter_snapshot - take a passive observer's snapshot
 * @c: the counter
 * @ret: the snapshot; written only on success
 * @flags: ERRSEQ_SNAPSHOT_BASELINE (0), or ERRSEQ_SNAPSHOT_REFUSE and/or
 *	ERRSEQ_SNAPSHOT_NOWAIT
 *
 * Reads the two words consistently (errors, errseq, errors again; retried
 * a bounded number of times while a setter races) and records them with
 * ERRSEQ_SEEN masked off, together with the instance id and the current
 * boot id (zeros if /proc/sys/kernel/random/boot_id cannot be read, which
 * makes errseq_snapshot_same_boot() fail closed later). Never writes to
 * @c: the error stays unseen for the real subscribers.
 *
 * An error that nobody has seen yet is, by default, absorbed into the
 * baseline (only later errors are reported). With ERRSEQ_SNAPSHOT_REFUSE
 * the snapshot fails instead, as a kernel volatile overlay mount does.
 *
 * Context: any; lock-free, may read a file the first time it is called.
 * Return: 0 on success; -EIO if REFUSE was given and an unseen error is
 * present; -EAGAIN if a setter raced with it and NOWAIT was given, or if
 * the retries ran out; -EINVAL for unknown @flags.
 */
ERRSEQ_EXPORT int errseq_counter_snapshot(struct errseq_counter *c,
					  struct errseq_snapshot *ret,
					  unsigned flags)
{
	uint32_t e1, e2;
	errseq_t v;
	int tries;

	if (flags & ~(ERRSEQ_SNAPSHOT_REFUSE | ERRSEQ_SNAPSHOT_NOWAIT))
		return -EINVAL;

	for (tries = 0;; tries++) {
		e1 = __atomic_load_n(&c->errors, __ATOMIC_ACQUIRE);
		v = __atomic_load_n(&c->errseq, __ATOMIC_ACQUIRE);
		e2 = __atomic_load_n(&c->errors, __ATOMIC_ACQUIRE);
		if (e1 == e2)
			break;
		/* A set completed in between: the pair may be torn. */
		if ((flags & ERRSEQ_SNAPSHOT_NOWAIT) ||
		    tries + 1 >= ERRSEQ_COUNTER_SNAPSHOT_TRIES)
			return -EAGAIN;
	}

	/* An error nobody has seen: the merged kernel refuses to mount. */
	if ((flags & ERRSEQ_SNAPSHOT_REFUSE) && (v & ERRSEQ_MAX_ERRNO) &&
	    !(v & ERRSEQ_SEEN))
		return -EIO;

	ret->errseq = v & ~ERRSEQ_SEEN;
	ret->errors = e1;
	memcpy(ret->instance, c->instance, sizeof(ret->instance));
	/* Unreadable boot id: zeros, which never match a real boot. */
	(void)errseq_boot_id(ret->boot_id);
	return 0;
}

/**
 * errseq_counter_check - has an error been set since a snapshot?
 * @c: the counter
 * @snap: a snapshot taken from @c (possibly loaded from disk)
 *
 * Pure loads, no atomic read-modify-write and no store: any number of
 * observers may check at any rate without stealing errors from
 * subscribers of the errseq word. ERRSEQ_SEEN is ignored. The boot id is
 * not compared here; see errseq_snapshot_same_boot().
 *
 * Context: any; lock-free.
 * Return: 0 if no error was set since @snap was taken; otherwise the
 * negative errno of the latest error; -EIO if @snap belongs to another
 * counter (or to this one before it was re-initialised), or if the
 * counter moved but its errseq word carries no errno.
 */
ERRSEQ_EXPORT int errseq_counter_check(struct errseq_counter *c,
				       const struct errseq_snapshot *snap)
{
	uint32_t errors;
	errseq_t v;
	int err;

	/* Identity first: a foreign snapshot can never prove "clean". */
	if (memcmp(snap->instance, c->instance, sizeof(snap->instance)) != 0)
		return -EIO;

	errors = __atomic_load_n(&c->errors, __ATOMIC_ACQUIRE);
	v = __atomic_load_n(&c->errseq, __ATOMIC_ACQUIRE) & ~ERRSEQ_SEEN;
	if (errors == snap->errors && v == snap->errseq)
		return 0;

	err = (int)(v & ERRSEQ_MAX_ERRNO);
	return err ? -err : -EIO;
}
