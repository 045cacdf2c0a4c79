// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_errseq - cost of the liberrseq operations, and of two rejected
 * alternatives to struct errseq_counter.
 *
 * Every measurement runs an operation ITER times in a loop, timed with
 * clock_gettime(CLOCK_MONOTONIC), repeats that REPS times and prints the
 * median ns/op as a markdown table.  Columns:
 *
 *   errseq_t        the library's kernel-exact 32-bit errseq
 *   errseq64        the same algorithm on a uint64_t word (51-bit counter);
 *                   implemented here only, for comparison
 *   errseq_counter  the library's two-word counter (errseq word + errors)
 *   packed64        errors:32 | errseq:32 in one uint64_t: one CAS per
 *                   set, one load per snapshot or check; implemented here
 *                   only, for comparison
 *
 * The two local variants are noinline functions in this file, and the
 * library is linked statically (liberrseq_dep), so every column pays one
 * direct call per operation and nothing is inlined.
 *
 * Rows: "set" alternates two errnos so that every call stores a new value
 * (the write path); "set, same errno" repeats one errno on an unseen value
 * (the coalescing path, no store for a plain errseq).  The check rows are
 * measured in the steady state where nothing new happened, which is the
 * path a caller takes on almost every fsync.  The contended rows run two
 * threads, pinned to CPUs 0 and 1 when allowed, on the same object: both
 * setting, or one setting while the other checks; each thread's own ns/op
 * is reported, and how long the two loops overlapped.  The closing ratio
 * errseq_counter_set / errseq_set times the two loops back to back in each
 * repetition and reports the median of the per-repetition ratios.
 *
 * This is a measurement tool, not a test: its numbers depend on the
 * machine and on its load, and nothing fails when they are slow.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errseq/counter.h"
#include "errseq/errseq.h"

#define BENCH_NOINLINE __attribute__((noinline))
#define BENCH_MAX_REPS 101

/* errseq64: errno in bits 0..11, SEEN in bit 12, a 51-bit counter above. */
#define BENCH_ES64_SEEN ((uint64_t)ERRSEQ_SEEN)
#define BENCH_ES64_CTR_INC ((uint64_t)ERRSEQ_CTR_INC)

/* packed64: the errseq word in bits 0..31, the errors counter above. */
#define BENCH_PK_ERRORS_INC ((uint64_t)1 << 32)

static unsigned long bench_iters = 10000000;
static unsigned int bench_reps = 5;
static _Atomic uint64_t bench_sink; /* keeps results alive; threads share it */

/* ---- the two alternatives, implemented only for this comparison ---- */

static BENCH_NOINLINE uint64_t bench_es64_set(_Atomic uint64_t *e, int err)
{
	uint64_t old = atomic_load_explicit(e, memory_order_acquire);
	uint64_t new;

	if (err >= 0 || -err > (int)ERRSEQ_MAX_ERRNO)
		return old;
	for (;;) {
		new = (old & ~(uint64_t)(ERRSEQ_MAX_ERRNO | ERRSEQ_SEEN)) |
		      (uint64_t)-err;
		if (old & BENCH_ES64_SEEN)
			new += BENCH_ES64_CTR_INC;
		if (new == old)
			return old;
		if (atomic_compare_exchange_strong_explicit(
			    e, &old, new, memory_order_acq_rel,
			    memory_order_acquire))
			return old;
		/* Someone stored the value this set wanted: done too. */
		if (old == new)
			return old;
	}
}

static BENCH_NOINLINE uint64_t bench_es64_sample(_Atomic uint64_t *e)
{
	uint64_t v = atomic_load_explicit(e, memory_order_acquire);

	return (v & BENCH_ES64_SEEN) ? v : 0;
}

static BENCH_NOINLINE int bench_es64_check(_Atomic uint64_t *e, uint64_t since)
{
	uint64_t v = atomic_load_explicit(e, memory_order_acquire);

	return v == since ? 0 : -(int)(v & ERRSEQ_MAX_ERRNO);
}

static BENCH_NOINLINE int bench_es64_check_and_advance(_Atomic uint64_t *e,
						       uint64_t *since)
{
	uint64_t old = atomic_load_explicit(e, memory_order_acquire);
	uint64_t new;

	if (old == *since)
		return 0;
	new = old | BENCH_ES64_SEEN;
	if (new != old)
		/* A lost race means a newer error: reported next time. */
		(void)atomic_compare_exchange_strong_explicit(
			e, &old, new, memory_order_acq_rel,
			memory_order_acquire);
	*since = new;
	return -(int)(new &ERRSEQ_MAX_ERRNO);
}

static BENCH_NOINLINE int bench_pk_set(_Atomic uint64_t *w, int err)
{
	uint64_t old = atomic_load_explicit(w, memory_order_acquire);
	uint64_t new;
	uint32_t es;

	if (err >= 0 || -err > (int)ERRSEQ_MAX_ERRNO)
		return -EINVAL;
	do {
		es = (uint32_t)old & ~(ERRSEQ_MAX_ERRNO | ERRSEQ_SEEN);
		es |= (uint32_t)-err;
		if ((uint32_t)old & ERRSEQ_SEEN)
			es += ERRSEQ_CTR_INC;
		/* Every valid set counts, as errseq_counter_set() does. */
		new = ((old & ~(uint64_t)UINT32_MAX) + BENCH_PK_ERRORS_INC) |
		      es;
	} while (!atomic_compare_exchange_weak_explicit(
		w, &old, new, memory_order_acq_rel, memory_order_acquire));
	return 0;
}

static BENCH_NOINLINE uint64_t bench_pk_snapshot(_Atomic uint64_t *w)
{
	return atomic_load_explicit(w, memory_order_acquire) &
	       ~(uint64_t)ERRSEQ_SEEN;
}

static BENCH_NOINLINE int bench_pk_check(_Atomic uint64_t *w, uint64_t snap)
{
	uint64_t v = atomic_load_explicit(w, memory_order_acquire) &
		     ~(uint64_t)ERRSEQ_SEEN;
	int err;

	if (v == snap)
		return 0;
	err = (int)(v & ERRSEQ_MAX_ERRNO);
	return err ? -err : -EIO;
}

/* ---- the operations under test, one loop each ---- */

enum bench_impl {
	BENCH_ES32,
	BENCH_ES64,
	BENCH_COUNTER,
	BENCH_PACKED,
	BENCH_NR_IMPLS,
};

enum bench_op {
	BENCH_SET, /* alternating errnos: every call stores */
	BENCH_SET_SAME, /* same errno, unseen value: coalesces */
	BENCH_SAMPLE, /* sample / snapshot */
	BENCH_CHECK, /* check / counter check, nothing new */
	BENCH_CHECK_ADVANCE, /* check_and_advance, nothing new */
	BENCH_CURSOR, /* cursor_check_and_advance, nothing new */
	BENCH_REPORT, /* set + check_and_advance: every check reports */
	BENCH_NR_OPS,
};

/* One object of each kind, each on its own cache line. */
struct bench_target {
	_Alignas(64) errseq_t es32;
	_Alignas(64) _Atomic uint64_t es64;
	_Alignas(64) struct errseq_counter counter;
	_Alignas(64) _Atomic uint64_t packed;
};

/* Per-thread state: the cursors and snapshots belong to one observer. */
struct bench_observer {
	errseq_t since32;
	uint64_t since64;
	struct errseq_snapshot snap;
	uint64_t pk_snap;
};

static void bench_observer_init(struct bench_observer *obs,
				struct bench_target *t)
{
	int r;

	obs->since32 = errseq_sample(&t->es32);
	obs->since64 = bench_es64_sample(&t->es64);
	r = errseq_counter_snapshot(&t->counter, &obs->snap,
				    ERRSEQ_SNAPSHOT_BASELINE);
	if (r < 0) {
		fprintf(stderr, "bench_errseq: snapshot: %s\n", strerror(-r));
		exit(EXIT_FAILURE);
	}
	obs->pk_snap = bench_pk_snapshot(&t->packed);
}

static void bench_target_init(struct bench_target *t)
{
	memset(t, 0, sizeof(*t));
	errseq_counter_init(&t->counter);
}

/* Runs @op on @impl @n times; returns false if the pair does not exist. */
static bool bench_loop(enum bench_impl impl, enum bench_op op,
		       struct bench_target *t, struct bench_observer *obs,
		       unsigned long n)
{
	uint64_t acc = 0;
	unsigned long i;

	switch (impl * BENCH_NR_OPS + op) {
	case BENCH_ES32 *BENCH_NR_OPS + BENCH_SET:
		for (i = 0; i < n; i++)
			acc += errseq_set(&t->es32, (i & 1) ? -EIO : -ENOSPC);
		break;
	case BENCH_ES32 *BENCH_NR_OPS + BENCH_SET_SAME:
		for (i = 0; i < n; i++)
			acc += errseq_set(&t->es32, -EIO);
		break;
	case BENCH_ES32 *BENCH_NR_OPS + BENCH_SAMPLE:
		for (i = 0; i < n; i++)
			acc += errseq_sample(&t->es32);
		break;
	case BENCH_ES32 *BENCH_NR_OPS + BENCH_CHECK:
		for (i = 0; i < n; i++)
			acc += (uint64_t)errseq_check(&t->es32, obs->since32);
		break;
	case BENCH_ES32 *BENCH_NR_OPS + BENCH_CHECK_ADVANCE:
		for (i = 0; i < n; i++)
			acc += (uint64_t)errseq_check_and_advance(
				&t->es32, &obs->since32);
		break;
	case BENCH_ES32 *BENCH_NR_OPS + BENCH_CURSOR:
		for (i = 0; i < n; i++)
			acc += (uint64_t)errseq_cursor_check_and_advance(
				&t->es32, &obs->since32);
		break;
	case BENCH_ES32 *BENCH_NR_OPS + BENCH_REPORT:
		for (i = 0; i < n; i++) {
			acc += errseq_set(&t->es32, -EIO);
			acc += (uint64_t)errseq_check_and_advance(
				&t->es32, &obs->since32);
		}
		break;
	case BENCH_ES64 *BENCH_NR_OPS + BENCH_SET:
		for (i = 0; i < n; i++)
			acc += bench_es64_set(&t->es64,
					      (i & 1) ? -EIO : -ENOSPC);
		break;
	case BENCH_ES64 *BENCH_NR_OPS + BENCH_SET_SAME:
		for (i = 0; i < n; i++)
			acc += bench_es64_set(&t->es64, -EIO);
		break;
	case BENCH_ES64 *BENCH_NR_OPS + BENCH_SAMPLE:
		for (i = 0; i < n; i++)
			acc += bench_es64_sample(&t->es64);
		break;
	case BENCH_ES64 *BENCH_NR_OPS + BENCH_CHECK:
		for (i = 0; i < n; i++)
			acc += (uint64_t)bench_es64_check(&t->es64,
							  obs->since64);
		break;
	case BENCH_ES64 *BENCH_NR_OPS + BENCH_CHECK_ADVANCE:
		for (i = 0; i < n; i++)
			acc += (uint64_t)bench_es64_check_and_advance(
				&t->es64, &obs->since64);
		break;
	case BENCH_ES64 *BENCH_NR_OPS + BENCH_REPORT:
		for (i = 0; i < n; i++) {
			acc += bench_es64_set(&t->es64, -EIO);
			acc += (uint64_t)bench_es64_check_and_advance(
				&t->es64, &obs->since64);
		}
		break;
	case BENCH_COUNTER *BENCH_NR_OPS + BENCH_SET:
		for (i = 0; i < n; i++)
			acc += (uint64_t)errseq_counter_set(
				&t->counter, (i & 1) ? -EIO : -ENOSPC);
		break;
	case BENCH_COUNTER *BENCH_NR_OPS + BENCH_SET_SAME:
		for (i = 0; i < n; i++)
			acc += (uint64_t)errseq_counter_set(&t->counter, -EIO);
		break;
	case BENCH_COUNTER *BENCH_NR_OPS + BENCH_SAMPLE:
		for (i = 0; i < n; i++) {
			/* A snapshot racing a setter may fail: count it. */
			acc += (uint64_t)errseq_counter_snapshot(
				&t->counter, &obs->snap,
				ERRSEQ_SNAPSHOT_BASELINE);
		}
		break;
	case BENCH_COUNTER *BENCH_NR_OPS + BENCH_CHECK:
		for (i = 0; i < n; i++)
			acc += (uint64_t)errseq_counter_check(&t->counter,
							      &obs->snap);
		break;
	case BENCH_PACKED *BENCH_NR_OPS + BENCH_SET:
		for (i = 0; i < n; i++)
			acc += (uint64_t)bench_pk_set(&t->packed,
						      (i & 1) ? -EIO : -ENOSPC);
		break;
	case BENCH_PACKED *BENCH_NR_OPS + BENCH_SET_SAME:
		for (i = 0; i < n; i++)
			acc += (uint64_t)bench_pk_set(&t->packed, -EIO);
		break;
	case BENCH_PACKED *BENCH_NR_OPS + BENCH_SAMPLE:
		for (i = 0; i < n; i++)
			acc += bench_pk_snapshot(&t->packed);
		break;
	case BENCH_PACKED *BENCH_NR_OPS + BENCH_CHECK:
		for (i = 0; i < n; i++)
			acc += (uint64_t)bench_pk_check(&t->packed,
							obs->pk_snap);
		break;
	default:
		return false;
	}
	atomic_fetch_add_explicit(&bench_sink, acc, memory_order_relaxed);
	return true;
}

static double bench_now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double bench_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median ns/op of @op on @impl in one thread; negative if not defined. */
static double bench_single(enum bench_impl impl, enum bench_op op)
{
	double ns[BENCH_MAX_REPS], t0;
	struct bench_observer obs;
	struct bench_target *t;
	unsigned int r;

	t = aligned_alloc(64, sizeof(*t));
	if (!t) {
		fprintf(stderr, "bench_errseq: out of memory\n");
		exit(EXIT_FAILURE);
	}
	bench_target_init(t);
	bench_observer_init(&obs, t);
	if (!bench_loop(impl, op, t, &obs, 1)) {
		free(t);
		return -1;
	}
	for (r = 0; r < bench_reps; r++) {
		t0 = bench_now_ns();
		(void)bench_loop(impl, op, t, &obs, bench_iters);
		ns[r] = (bench_now_ns() - t0) / (double)bench_iters;
	}
	free(t);
	return bench_median(ns, bench_reps);
}

/*
 * Median over REPS of the ratio errseq_counter_set / errseq_set for @op,
 * each repetition timing the two loops back to back, so that a load
 * spike on a shared machine hits both sides of one ratio alike.
 */
static double bench_set_ratio(enum bench_op op)
{
	double ratio[BENCH_MAX_REPS], t0, t1, t2;
	struct bench_observer obs;
	struct bench_target *t;
	unsigned int r;

	t = aligned_alloc(64, sizeof(*t));
	if (!t) {
		fprintf(stderr, "bench_errseq: out of memory\n");
		exit(EXIT_FAILURE);
	}
	bench_target_init(t);
	bench_observer_init(&obs, t);
	for (r = 0; r < bench_reps; r++) {
		t0 = bench_now_ns();
		(void)bench_loop(BENCH_ES32, op, t, &obs, bench_iters);
		t1 = bench_now_ns();
		(void)bench_loop(BENCH_COUNTER, op, t, &obs, bench_iters);
		t2 = bench_now_ns();
		ratio[r] = (t2 - t1) / (t1 - t0);
	}
	free(t);
	return bench_median(ratio, bench_reps);
}

/* ---- two threads on one object ---- */

struct bench_thread {
	pthread_t tid;
	enum bench_impl impl;
	enum bench_op op;
	struct bench_target *t;
	pthread_barrier_t *start;
	int cpu; /* CPU to pin to, best effort */
	double t0, t1; /* start and end of the timed loop */
	double ns; /* ns/op of this thread, one repetition */
};

static void *bench_thread_main(void *arg)
{
	struct bench_thread *bt = arg;
	struct bench_observer obs;
	cpu_set_t set;

	/* One thread per CPU when allowed; unpinned otherwise. */
	CPU_ZERO(&set);
	CPU_SET(bt->cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	bench_observer_init(&obs, bt->t);
	(void)pthread_barrier_wait(bt->start);
	bt->t0 = bench_now_ns();
	(void)bench_loop(bt->impl, bt->op, bt->t, &obs, bench_iters);
	bt->t1 = bench_now_ns();
	bt->ns = (bt->t1 - bt->t0) / (double)bench_iters;
	return NULL;
}

/*
 * Runs @op0 and @op1 of @impl concurrently on one object; stores the
 * median ns/op of each thread in @ret[0] and @ret[1], and in @ret[2] the
 * median share of the longer run during which both threads ran (on a
 * loaded machine the two loops may overlap only partly).
 */
static void bench_pair(enum bench_impl impl, enum bench_op op0,
		       enum bench_op op1, double ret[3])
{
	double ns0[BENCH_MAX_REPS], ns1[BENCH_MAX_REPS], ov[BENCH_MAX_REPS];
	double lo, hi, longest;
	struct bench_thread bt[2];
	pthread_barrier_t start;
	struct bench_target *t;
	unsigned int r, i;
	int e;

	t = aligned_alloc(64, sizeof(*t));
	if (!t) {
		fprintf(stderr, "bench_errseq: out of memory\n");
		exit(EXIT_FAILURE);
	}
	for (r = 0; r < bench_reps; r++) {
		bench_target_init(t);
		(void)pthread_barrier_init(&start, NULL, 2);
		for (i = 0; i < 2; i++) {
			bt[i] = (struct bench_thread){.impl = impl,
						      .op = i ? op1 : op0,
						      .t = t,
						      .start = &start,
						      .cpu = (int)i};
			e = pthread_create(&bt[i].tid, NULL, bench_thread_main,
					   &bt[i]);
			if (e) {
				fprintf(stderr, "bench_errseq: thread: %s\n",
					strerror(e));
				exit(EXIT_FAILURE);
			}
		}
		for (i = 0; i < 2; i++)
			(void)pthread_join(bt[i].tid, NULL);
		(void)pthread_barrier_destroy(&start);
		ns0[r] = bt[0].ns;
		ns1[r] = bt[1].ns;
		lo = bt[0].t0 > bt[1].t0 ? bt[0].t0 : bt[1].t0;
		hi = bt[0].t1 < bt[1].t1 ? bt[0].t1 : bt[1].t1;
		longest = bt[0].t1 - bt[0].t0 > bt[1].t1 - bt[1].t0
				  ? bt[0].t1 - bt[0].t0
				  : bt[1].t1 - bt[1].t0;
		ov[r] = hi > lo ? 100 * (hi - lo) / longest : 0;
	}
	free(t);
	ret[0] = bench_median(ns0, bench_reps);
	ret[1] = bench_median(ns1, bench_reps);
	ret[2] = bench_median(ov, bench_reps);
}

/* ---- report ---- */

static const char *const bench_impl_names[BENCH_NR_IMPLS] = {
	"errseq_t", "errseq64", "errseq_counter", "packed64"};

static const char *const bench_op_names[BENCH_NR_OPS] = {
	[BENCH_SET] = "set (errno alternates)",
	[BENCH_SET_SAME] = "set (same errno, coalesced)",
	[BENCH_SAMPLE] = "sample / snapshot",
	[BENCH_CHECK] = "check (nothing new)",
	[BENCH_CHECK_ADVANCE] = "check_and_advance (nothing new)",
	[BENCH_CURSOR] = "cursor_check_and_advance (nothing new)",
	[BENCH_REPORT] = "set + check_and_advance (reports)",
};

static void bench_cell(double ns)
{
	if (ns < 0)
		printf(" %14s |", "-");
	else
		printf(" %14.2f |", ns);
}

static void bench_header(const char *first)
{
	unsigned int i;

	printf("| %-42s |", first);
	for (i = 0; i < BENCH_NR_IMPLS; i++)
		printf(" %14s |", bench_impl_names[i]);
	printf("\n|%s|", "--------------------------------------------");
	for (i = 0; i < BENCH_NR_IMPLS; i++)
		printf("%s|", "---------------:");
	printf("\n");
}

static void bench_usage(FILE *out)
{
	fprintf(out,
		"Usage: bench_errseq [-n ITER] [-r REPS]\n"
		"Prints the median ns/op of the liberrseq operations and of\n"
		"two alternatives as markdown tables.\n"
		"  -n ITER  operations per timed loop (default 10000000)\n"
		"  -r REPS  timed loops per cell, median reported (default 5,"
		" at most %d)\n",
		BENCH_MAX_REPS);
}

static bool bench_parse_ulong(const char *s, unsigned long max,
			      unsigned long *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v == 0 || v > max)
		return false;
	*ret = v;
	return true;
}

int main(int argc, char **argv)
{
	double single[BENCH_NR_OPS][BENCH_NR_IMPLS], both[3], mixed[3];
	double set_ratio;
	unsigned long v;
	unsigned int i, j;
	int opt;

	while ((opt = getopt(argc, argv, "n:r:h")) != -1) {
		switch (opt) {
		case 'n':
			if (!bench_parse_ulong(optarg, 1UL << 40, &v)) {
				fprintf(stderr,
					"bench_errseq: bad iteration count "
					"'%s'\n",
					optarg);
				return 2;
			}
			bench_iters = v;
			break;
		case 'r':
			if (!bench_parse_ulong(optarg, BENCH_MAX_REPS, &v)) {
				fprintf(stderr,
					"bench_errseq: bad repetition count "
					"'%s' (1..%d)\n",
					optarg, BENCH_MAX_REPS);
				return 2;
			}
			bench_reps = (unsigned int)v;
			break;
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			bench_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "bench_errseq: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}

	printf("%lu iterations per loop, median of %u loops, ns/op\n\n",
	       bench_iters, bench_reps);
	for (i = 0; i < BENCH_NR_OPS; i++)
		for (j = 0; j < BENCH_NR_IMPLS; j++)
			single[i][j] = bench_single(j, i);

	bench_header("single thread");
	for (i = 0; i < BENCH_NR_OPS; i++) {
		printf("| %-42s |", bench_op_names[i]);
		for (j = 0; j < BENCH_NR_IMPLS; j++)
			bench_cell(single[i][j]);
		printf("\n");
	}

	printf("\n");
	bench_header("two threads, one object");
	{
		double rows[5][BENCH_NR_IMPLS];

		for (j = 0; j < BENCH_NR_IMPLS; j++) {
			bench_pair(j, BENCH_SET, BENCH_SET, both);
			bench_pair(j, BENCH_SET, BENCH_CHECK, mixed);
			rows[0][j] = (both[0] + both[1]) / 2;
			rows[1][j] = mixed[0];
			rows[2][j] = mixed[1];
			rows[3][j] = both[2];
			rows[4][j] = mixed[2];
		}
		printf("| %-42s |", "both set: ns/set (mean of the 2 threads)");
		for (j = 0; j < BENCH_NR_IMPLS; j++)
			bench_cell(rows[0][j]);
		printf("\n| %-42s |", "one sets, one checks: ns/set");
		for (j = 0; j < BENCH_NR_IMPLS; j++)
			bench_cell(rows[1][j]);
		printf("\n| %-42s |", "one sets, one checks: ns/check");
		for (j = 0; j < BENCH_NR_IMPLS; j++)
			bench_cell(rows[2][j]);
		printf("\n| %-42s |", "both set: threads overlapped, % of run");
		for (j = 0; j < BENCH_NR_IMPLS; j++)
			bench_cell(rows[3][j]);
		printf("\n| %-42s |",
		       "set vs check: threads overlapped, % of run");
		for (j = 0; j < BENCH_NR_IMPLS; j++)
			bench_cell(rows[4][j]);
		printf("\n");
	}

	/* Paired ratios: both loops timed back to back in each repetition. */
	set_ratio = bench_set_ratio(BENCH_SET);
	printf("\nerrseq_counter_set / errseq_set, uncontended, errno "
	       "alternating (median of paired loops): %.2fx "
	       "(target <= 1.25x: %s)\n",
	       set_ratio, set_ratio <= 1.25 ? "met" : "not met");
	set_ratio = bench_set_ratio(BENCH_SET_SAME);
	printf("errseq_counter_set / errseq_set, uncontended, same errno "
	       "(median of paired loops): %.2fx\n",
	       set_ratio);
	return 0;
}
