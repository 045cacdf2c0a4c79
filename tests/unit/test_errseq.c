// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_errseq.c - unit tests of lib/errseq.c (errseq_t).
 *
 * Covers the worked example of the specification step by step with exact
 * values, the xfstests-derived scenarios (one subscriber per "fd"), the
 * edge cases (invalid errors, coalescing, foreign cursors, the 2^19 wrap),
 * a race of identical sets, and a reference model: a deliberately plain
 * errno/seen/counter model run against the packed word over long random
 * operation sequences ($ERRSEQ_TEST_SEED, printed on failure).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "errseq/errseq.h"
#include "unit.h"

#define WRAP_CYCLES (1u << 19)

static void test_bit_layout_matches_kernel(void **state)
{
	assert_int_equal(ERRSEQ_SHIFT, 12);
	assert_int_equal(ERRSEQ_SEEN, 0x1000);
	assert_int_equal(ERRSEQ_CTR_INC, 0x2000);
	assert_int_equal(ERRSEQ_CTR_MASK, 0xffffe000u);
	assert_int_equal(ERRSEQ_MAX_ERRNO, 0xfff);
}

/* Specification 1.6, every step with the exact word. */
static void test_worked_example_step_by_step(void **state)
{
	errseq_t e = 0, a, c, s;

	/* 1 */
	a = errseq_sample(&e);
	assert_int_equal(a, 0);
	assert_int_equal(e, 0x00000000);
	/* 2 */
	errseq_set(&e, -EIO);
	assert_int_equal(e, 0x00000005);
	/* 3 */
	assert_int_equal(errseq_check(&e, a), -EIO);
	assert_int_equal(e, 0x00000005);
	/* 4: unseen, same errno: no change */
	errseq_set(&e, -EIO);
	assert_int_equal(e, 0x00000005);
	/* 5: errno replaced, counter not bumped */
	errseq_set(&e, -ENOSPC);
	assert_int_equal(e, 0x0000001c);
	/* 6 */
	c = 0;
	assert_int_equal(errseq_check_and_advance(&e, &c), -ENOSPC);
	assert_int_equal(e, 0x0000101c);
	assert_int_equal(c, 0x101c);
	/* 7 */
	assert_int_equal(errseq_check_and_advance(&e, &c), 0);
	assert_int_equal(e, 0x0000101c);
	/* 8 */
	s = errseq_sample(&e);
	assert_int_equal(s, 0x101c);
	/* 9: SEEN was set, so the counter moves and SEEN clears */
	errseq_set(&e, -EIO);
	assert_int_equal(e, 0x00002005);
	/* 10 */
	assert_int_equal(errseq_check(&e, s), -EIO);
	assert_int_equal(e, 0x00002005);
}

static void test_set_returns_previous_value(void **state)
{
	errseq_t e = 0, c = 0;

	assert_int_equal(errseq_set(&e, -EIO), 0);
	/* Coalesced: returns the (unchanged) value. */
	assert_int_equal(errseq_set(&e, -EIO), 5);
	assert_int_equal(errseq_set(&e, -ENOSPC), 5);
	errseq_check_and_advance(&e, &c);
	assert_int_equal(errseq_set(&e, -EIO), 0x101c);
	assert_int_equal(e, 0x2005);
}

static void test_invalid_err_changes_nothing(void **state)
{
	static const int bad[] = {0,	 1,	  5,	     4096,
				  -4096, -100000, INT32_MIN, INT32_MAX};
	errseq_t e = 0x4005 | ERRSEQ_SEEN;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(errseq_set(&e, bad[i]), 0x4005 | ERRSEQ_SEEN);
		assert_int_equal(e, 0x4005 | ERRSEQ_SEEN);
	}
	/* The extremes of the valid range are accepted. */
	errseq_set(&e, -4095);
	assert_int_equal(e, 0x6fff);
	errseq_set(&e, -1);
	assert_int_equal(e, 0x6001);
}

static void test_coalescing_while_unseen(void **state)
{
	errseq_t e = 0, since;
	int i;

	errseq_set(&e, -EIO);
	for (i = 0; i < 10; i++)
		errseq_set(&e, -EIO);
	assert_int_equal(e, 5);
	errseq_set(&e, -ENOSPC);
	errseq_set(&e, -EROFS);
	/* The counter never moved: nobody saw anything. */
	assert_int_equal(e & ERRSEQ_CTR_MASK, 0);
	assert_int_equal(e & ERRSEQ_MAX_ERRNO, EROFS);
	/* A plain observer that never marks SEEN misses a repeat. */
	since = e;
	errseq_set(&e, -EROFS);
	assert_int_equal(errseq_check(&e, since), 0);
}

static void test_sample_is_zero_for_unseen_error(void **state)
{
	errseq_t e = 0, c = 0, s;

	assert_int_equal(errseq_sample(&e), 0);
	errseq_set(&e, -EIO);
	s = errseq_sample(&e);
	assert_int_equal(s, 0);
	/* Sampling never writes. */
	assert_int_equal(e, 5);
	assert_int_equal(errseq_check(&e, s), -EIO);
	errseq_check_and_advance(&e, &c);
	assert_int_equal(errseq_sample(&e), 0x1005);
}

static void test_check_never_writes(void **state)
{
	errseq_t e = 0;

	errseq_set(&e, -EIO);
	assert_int_equal(errseq_check(&e, 0), -EIO);
	assert_int_equal(errseq_check(&e, 0), -EIO);
	assert_int_equal(e, 5);
}

static void test_check_and_advance_marks_seen_once(void **state)
{
	errseq_t e = 0, c1 = 0, c2 = 0;

	errseq_set(&e, -EIO);
	assert_int_equal(errseq_check_and_advance(&e, &c1), -EIO);
	assert_int_equal(e, 0x1005);
	/* Already seen: no write, same report for another cursor. */
	assert_int_equal(errseq_check_and_advance(&e, &c2), -EIO);
	assert_int_equal(e, 0x1005);
	assert_int_equal(c1, 0x1005);
	assert_int_equal(c2, 0x1005);
	assert_int_equal(errseq_check_and_advance(&e, &c1), 0);
}

static void test_seen_only_difference_is_reported_by_plain_check(void **state)
{
	/*
	 * Exact compare: a raw unseen value as cursor reports once SEEN
	 * is set by someone else. errseq_sample() never returns one.
	 */
	errseq_t e = 0, raw, c = 0;

	errseq_set(&e, -EIO);
	raw = e;
	errseq_check_and_advance(&e, &c);
	assert_int_equal(errseq_check(&e, raw), -EIO);
}

static void test_foreign_cursor_fails_closed(void **state)
{
	errseq_t e = 0, c = 0x1005, c2 = 0x1005;

	/* The epoch differs from a cursor taken elsewhere: never clean. */
	assert_int_equal(errseq_check(&e, 0x1005), -EIO);
	assert_int_equal(errseq_check_and_advance(&e, &c), -EIO);
	/* The epoch is never marked seen. */
	assert_int_equal(e, 0);
	assert_int_equal(c, 0);
	assert_int_equal(errseq_check_and_advance(&e, &c), 0);
	assert_int_equal(errseq_cursor_check_and_advance(&e, &c2), -EIO);
	assert_int_equal(c2, 0);
	assert_int_equal(e, 0);
	assert_int_equal(errseq_cursor_check_and_advance(&e, &c2), 0);
}

static void test_cursor_check_and_advance_matches_locked_version(void **state)
{
	errseq_t e1 = 0, e2 = 0, c1 = 0, c2 = 0;
	static const int errs[] = {-EIO, -EIO, -ENOSPC, -EIO, -EROFS};
	size_t i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		errseq_set(&e1, errs[i]);
		errseq_set(&e2, errs[i]);
		if (i % 2)
			continue;
		assert_int_equal(errseq_check_and_advance(&e1, &c1),
				 errseq_cursor_check_and_advance(&e2, &c2));
		assert_int_equal(e1, e2);
		assert_int_equal(c1, c2);
		assert_int_equal(errseq_cursor_check_and_advance(&e2, &c2), 0);
	}
}

/* T441: every subscriber open at the time of the error sees it once. */
static void test_t441_every_open_subscriber_sees_error_once(void **state)
{
	errseq_t src = 0, fd[10], late;
	int i;

	for (i = 0; i < 10; i++) {
		fd[i] = errseq_sample(&src);
		assert_int_equal(errseq_check_and_advance(&src, &fd[i]), 0);
	}
	errseq_set(&src, -EIO);
	for (i = 0; i < 10; i++)
		assert_int_equal(errseq_check_and_advance(&src, &fd[i]), -EIO);
	for (i = 0; i < 10; i++)
		assert_int_equal(errseq_check_and_advance(&src, &fd[i]), 0);
	late = errseq_sample(&src);
	assert_int_equal(errseq_check(&src, late), 0);
	assert_int_equal(errseq_check_and_advance(&src, &late), 0);
}

/* T487: a late opener gets an unseen error once; the next one does not. */
static void test_t487_late_opener_sees_unseen_error_once(void **state)
{
	errseq_t src = 0, a, b;

	errseq_set(&src, -EIO);
	a = errseq_sample(&src);
	assert_int_equal(a, 0);
	assert_int_equal(errseq_check_and_advance(&src, &a), -EIO);
	assert_int_equal(errseq_check_and_advance(&src, &a), 0);
	b = errseq_sample(&src);
	assert_int_equal(errseq_check_and_advance(&src, &b), 0);
}

/*
 * T484: mapping and superblock sources updated together; syncfs-style
 * cursor of a new fd reports once even after fsync consumed the mapping.
 */
static void t484_record_error(errseq_t *mapping, errseq_t *sb, int err)
{
	errseq_set(mapping, err);
	errseq_set(sb, err);
}

static void test_t484_sb_cursor_reports_once_per_new_fd(void **state)
{
	errseq_t mapping = 0, sb = 0;
	errseq_t fd1_wb, fd2_sb, fd3_sb;

	fd1_wb = errseq_sample(&mapping);
	t484_record_error(&mapping, &sb, -EIO);
	/* fdatasync consumes the mapping error. */
	assert_int_equal(errseq_check_and_advance(&mapping, &fd1_wb), -EIO);
	/* New fd: syncfs, syncfs -> exactly one EIO. */
	fd2_sb = errseq_sample(&sb);
	assert_int_equal(errseq_check_and_advance(&sb, &fd2_sb), -EIO);
	assert_int_equal(errseq_check_and_advance(&sb, &fd2_sb), 0);
	/* Another new fd: syncfs -> 0. */
	fd3_sb = errseq_sample(&sb);
	assert_int_equal(errseq_check_and_advance(&sb, &fd3_sb), 0);
}

/*
 * TVOL/TMNT on plain errseq_t (the merged kernel's volatile overlay):
 * the snapshot is a sample that is never advanced.
 */
static int tvol_mount(errseq_t *upper, errseq_t *ret_snap)
{
	*ret_snap = errseq_sample(upper);
	/* An unseen error at mount time: refuse, like the kernel. */
	if (errseq_check(upper, *ret_snap))
		return -EIO;
	return 0;
}

static int tvol_syncfs(errseq_t *upper, errseq_t snap)
{
	return errseq_check(upper, snap) ? -EIO : 0;
}

static int tvol_fsync(errseq_t *upper, errseq_t snap)
{
	return errseq_check(upper, snap);
}

static void test_tvol_volatile_observer_is_sticky(void **state)
{
	errseq_t upper = 0, snap, other = 0;
	int i;

	assert_int_equal(tvol_mount(&upper, &snap), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(tvol_syncfs(&upper, snap), 0);
		assert_int_equal(tvol_fsync(&upper, snap), 0);
	}
	errseq_set(&upper, -ENOSPC);
	for (i = 0; i < 3; i++) {
		assert_int_equal(tvol_syncfs(&upper, snap), -EIO);
		assert_int_equal(tvol_fsync(&upper, snap), -ENOSPC);
	}
	/* Consuming the source through another subscriber clears nothing. */
	assert_int_equal(errseq_check_and_advance(&upper, &other), -ENOSPC);
	assert_int_equal(tvol_syncfs(&upper, snap), -EIO);
	assert_int_equal(tvol_fsync(&upper, snap), -ENOSPC);
}

static void test_tmnt_mount_refused_while_error_unseen(void **state)
{
	errseq_t upper = 0, snap, sub = 0;

	errseq_set(&upper, -EIO);
	assert_int_equal(tvol_mount(&upper, &snap), -EIO);
	assert_int_equal(tvol_mount(&upper, &snap), -EIO);
	/* One check_and_advance by any subscriber, then mount is clean. */
	assert_int_equal(errseq_check_and_advance(&upper, &sub), -EIO);
	assert_int_equal(tvol_mount(&upper, &snap), 0);
	assert_int_equal(tvol_syncfs(&upper, snap), 0);
	errseq_set(&upper, -EIO);
	assert_int_equal(tvol_syncfs(&upper, snap), -EIO);
}

/* The hole: 2^19 seen-then-set cycles bring the word back to a sample. */
static void test_wrap_full_cycle_is_missed_by_plain_check(void **state)
{
	errseq_t e = 0, c = 0, s;
	uint32_t i;

	errseq_set(&e, -EIO);
	errseq_check_and_advance(&e, &c);
	s = errseq_sample(&e);
	assert_int_equal(s, 0x1005);
	for (i = 0; i < WRAP_CYCLES; i++) {
		errseq_set(&e, -EIO);
		errseq_check_and_advance(&e, &c);
	}
	assert_int_equal(e, s);
	assert_int_equal(errseq_check(&e, s), 0);
}

static void test_wrap_near_top_of_counter(void **state)
{
	errseq_t e = ERRSEQ_CTR_MASK | ERRSEQ_SEEN | EIO, s, c;

	s = errseq_sample(&e);
	errseq_set(&e, -EIO);
	/* 32-bit wrap-around: the counter goes to 0, errno stays. */
	assert_int_equal(e, 0x00000005);
	c = s;
	assert_int_equal(errseq_check_and_advance(&e, &c), -EIO);
	assert_int_equal(e, 0x1005);
	/* Never back to the epoch: errno bits stay set. */
	assert_int_not_equal(e, 0);
}

/* C3: identical concurrent sets on a seen value bump the counter once. */
struct race_arg {
	errseq_t *e;
	pthread_barrier_t *bar;
	int rounds;
};

static void *race_setter(void *p)
{
	struct race_arg *a = p;
	int i;

	for (i = 0; i < a->rounds; i++) {
		pthread_barrier_wait(a->bar);
		errseq_set(a->e, -EIO);
		pthread_barrier_wait(a->bar);
		pthread_barrier_wait(a->bar);
	}
	return NULL;
}

static void test_identical_concurrent_sets_bump_counter_once(void **state)
{
	enum { ROUNDS = 2000 };
	pthread_barrier_t bar;
	pthread_t t[2];
	errseq_t e = 0, c = 0;
	struct race_arg a = {&e, &bar, ROUNDS};
	int i;

	errseq_set(&e, -EIO);
	errseq_check_and_advance(&e, &c);
	pthread_barrier_init(&bar, NULL, 3);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_setter, &a),
				 0);
	for (i = 0; i < ROUNDS; i++) {
		errseq_t before = __atomic_load_n(&e, __ATOMIC_SEQ_CST);

		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
		assert_int_equal(e, before + ERRSEQ_CTR_INC - ERRSEQ_SEEN);
		assert_int_equal(errseq_check_and_advance(&e, &c), -EIO);
		pthread_barrier_wait(&bar);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
}

/*
 * Reference model: errno, seen flag and counter as plain integers, and
 * cursors as copies of that triple. Packing the model must give the real
 * word bit for bit after every operation, and every call must return what
 * the model predicts.
 */
struct model {
	int err;
	int seen;
	uint32_t ctr;
};

static errseq_t model_pack(const struct model *m)
{
	return (m->ctr % WRAP_CYCLES) << 13 | (uint32_t)m->seen << 12 |
	       (uint32_t)m->err;
}

static void model_set(struct model *m, int err)
{
	if (err >= 0 || err < -4095)
		return;
	if (m->seen)
		m->ctr++;
	m->seen = 0;
	m->err = -err;
}

static int model_equal(const struct model *a, const struct model *b)
{
	return a->err == b->err && a->seen == b->seen && a->ctr == b->ctr;
}

/* Returns the predicted report and advances the model cursor. */
static int model_check_and_advance(struct model *m, struct model *cur)
{
	if (model_equal(m, cur))
		return 0;
	if (m->err)
		m->seen = 1;
	*cur = *m;
	return m->err ? -m->err : -EIO;
}

#define MODEL_CURSORS 6

static void model_fail(uint64_t seed, unsigned long step, const char *what)
{
	print_error("reference model mismatch: seed=0x%llx step=%lu op=%s\n",
		    (unsigned long long)seed, step, what);
	fail();
}

static void test_reference_model_random_ops(void **state)
{
	static const int errs[] = {-EIO,  -EIO, -ENOSPC, -EROFS, -1,
				   -4095, 0,	7,	 -4096};
	const unsigned long steps = 200000;
	uint64_t seed = unit_seed(), rng = seed | 1;
	struct model m = {0}, mc[MODEL_CURSORS];
	errseq_t e = 0, cur[MODEL_CURSORS];
	unsigned long step;
	int i;

	print_message("# reference model seed=0x%llx (ERRSEQ_TEST_SEED)\n",
		      (unsigned long long)seed);
	memset(mc, 0, sizeof(mc));
	memset(cur, 0, sizeof(cur));

	for (step = 0; step < steps; step++) {
		uint32_t op = unit_rand_below(&rng, 6);
		int k = (int)unit_rand_below(&rng, MODEL_CURSORS);
		int want, got;

		switch (op) {
		case 0:
		case 1: {
			int err = errs[unit_rand_below(
				&rng, sizeof(errs) / sizeof(errs[0]))];

			model_set(&m, err);
			errseq_set(&e, err);
			break;
		}
		case 2:
			/* sample: the seen value, or the epoch if unseen */
			if (m.seen)
				mc[k] = m;
			else
				memset(&mc[k], 0, sizeof(mc[k]));
			cur[k] = errseq_sample(&e);
			if (cur[k] != model_pack(&mc[k]))
				model_fail(seed, step, "sample");
			break;
		case 3:
			want = model_equal(&m, &mc[k]) ? 0
			       : m.err		       ? -m.err
						       : -EIO;
			got = errseq_check(&e, cur[k]);
			if (want != got)
				model_fail(seed, step, "check");
			break;
		case 4:
			want = model_check_and_advance(&m, &mc[k]);
			got = errseq_check_and_advance(&e, &cur[k]);
			if (want != got || cur[k] != model_pack(&mc[k]))
				model_fail(seed, step, "check_and_advance");
			break;
		default:
			want = model_check_and_advance(&m, &mc[k]);
			got = errseq_cursor_check_and_advance(&e, &cur[k]);
			if (want != got || cur[k] != model_pack(&mc[k]))
				model_fail(seed, step, "cursor_check");
			break;
		}
		if (e != model_pack(&m))
			model_fail(seed, step, "word");
	}
	for (i = 0; i < MODEL_CURSORS; i++)
		(void)errseq_check_and_advance(&e, &cur[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bit_layout_matches_kernel),
		cmocka_unit_test(test_worked_example_step_by_step),
		cmocka_unit_test(test_set_returns_previous_value),
		cmocka_unit_test(test_invalid_err_changes_nothing),
		cmocka_unit_test(test_coalescing_while_unseen),
		cmocka_unit_test(test_sample_is_zero_for_unseen_error),
		cmocka_unit_test(test_check_never_writes),
		cmocka_unit_test(test_check_and_advance_marks_seen_once),
		cmocka_unit_test(
			test_seen_only_difference_is_reported_by_plain_check),
		cmocka_unit_test(test_foreign_cursor_fails_closed),
		cmocka_unit_test(
			test_cursor_check_and_advance_matches_locked_version),
		cmocka_unit_test(
			test_t441_every_open_subscriber_sees_error_once),
		cmocka_unit_test(test_t487_late_opener_sees_unseen_error_once),
		cmocka_unit_test(test_t484_sb_cursor_reports_once_per_new_fd),
		cmocka_unit_test(test_tvol_volatile_observer_is_sticky),
		cmocka_unit_test(test_tmnt_mount_refused_while_error_unseen),
		cmocka_unit_test(test_wrap_full_cycle_is_missed_by_plain_check),
		cmocka_unit_test(test_wrap_near_top_of_counter),
		cmocka_unit_test(
			test_identical_concurrent_sets_bump_counter_once),
		cmocka_unit_test(test_reference_model_random_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
