/* test_hash.c — unit tests of the open-addressing map (src/hash.c): put,
 * get and del against a plain reference over thousands of random keys,
 * and deletion runs that wrap around the end of the slot array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/hash.h"
#include "scen/util.h"

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static void seed(uint64_t s)
{
	rng_state = s ? s : 0x9e3779b97f4a7c15ULL;
}

/* The linear-probing invariant: every entry is reachable from its home
 * slot through occupied slots only, and len counts the entries. */
static void check_invariant(const struct scen_map *m)
{
	size_t mask = m->cap - 1, n = 0;

	for (size_t i = 0; i < m->cap; i++) {
		const struct scen_map_slot *s = &m->slots[i];

		if (!s->hash)
			continue;
		n++;
		assert_int_equal(s->hash, scen_hash64(s->key, s->klen));
		for (size_t j = s->hash & mask; j != i; j = (j + 1) & mask)
			if (!m->slots[j].hash)
				fail_msg("slot %zu (home %zu) is cut off by the "
					 "empty slot %zu", i,
					 (size_t)(s->hash & mask), j);
	}
	assert_int_equal(n, m->len);
}

static void test_empty_map(void **state)
{
	struct scen_map m;

	scen_map_init(&m);
	assert_int_equal(m.len, 0);
	assert_true(m.cap >= 1 && (m.cap & (m.cap - 1)) == 0);
	assert_null(scen_map_get(&m, "a", 1));
	assert_null(scen_map_get(&m, "", 0));
	scen_map_del(&m, "a", 1);	/* absent: a no-op */
	assert_int_equal(m.len, 0);
	scen_map_release(&m);
	assert_null(m.slots);
	scen_map_release(&m);		/* twice is harmless */
}

static void test_put_creates_zero_then_finds(void **state)
{
	struct scen_map m;
	int created = -1;
	uint64_t *v;

	scen_map_init(&m);
	v = scen_map_put(&m, "alpha", 5, &created);
	assert_non_null(v);
	assert_int_equal(created, 1);
	assert_int_equal(*v, 0);
	*v = 42;
	v = scen_map_put(&m, "alpha", 5, &created);
	assert_int_equal(created, 0);
	assert_int_equal(*v, 42);
	assert_int_equal(m.len, 1);
	v = scen_map_put(&m, "alpha", 5, NULL);	/* created may be NULL */
	assert_int_equal(*v, 42);
	assert_int_equal(*scen_map_get(&m, "alpha", 5), 42);
	scen_map_release(&m);
}

/* Keys are byte strings: a prefix, a key with NUL bytes, and the empty
 * key are all distinct keys. */
static void test_keys_are_byte_strings(void **state)
{
	struct scen_map m;
	static const char k1[] = "ab\0c", k2[] = "ab\0d";

	scen_map_init(&m);
	*scen_map_put(&m, "ab", 2, NULL) = 1;
	*scen_map_put(&m, k1, 4, NULL) = 2;
	*scen_map_put(&m, k2, 4, NULL) = 3;
	*scen_map_put(&m, "", 0, NULL) = 4;
	*scen_map_put(&m, "a", 1, NULL) = 5;
	assert_int_equal(m.len, 5);
	assert_int_equal(*scen_map_get(&m, "ab", 2), 1);
	assert_int_equal(*scen_map_get(&m, k1, 4), 2);
	assert_int_equal(*scen_map_get(&m, k2, 4), 3);
	assert_int_equal(*scen_map_get(&m, "", 0), 4);
	assert_int_equal(*scen_map_get(&m, "a", 1), 5);
	assert_null(scen_map_get(&m, "ab\0", 3));
	scen_map_del(&m, "", 0);
	assert_null(scen_map_get(&m, "", 0));
	assert_int_equal(*scen_map_get(&m, "a", 1), 5);
	assert_int_equal(m.len, 4);
	check_invariant(&m);
	scen_map_release(&m);
}

static void test_hash64_never_zero(void **state)
{
	char buf[16];

	seed(0x5eed0005);
	/* 0 marks an empty slot, so no key may hash to it. */
	for (int i = 0; i < 100000; i++) {
		uint64_t r = rnd();

		memcpy(buf, &r, sizeof r);
		assert_true(scen_hash64(buf, (size_t)(i % 9)) != 0);
	}
	assert_int_equal(scen_hash64("abc", 3), scen_hash64("abc", 3));
	assert_true(scen_hash64("abc", 3) != scen_hash64("abd", 3));
}

/* The keys stay owned by the map: the caller's buffer may change. */
static void test_key_is_copied(void **state)
{
	struct scen_map m;
	char buf[8] = "key-1";

	scen_map_init(&m);
	*scen_map_put(&m, buf, 5, NULL) = 7;
	memcpy(buf, "XXXXX", 5);
	assert_null(scen_map_get(&m, buf, 5));
	assert_int_equal(*scen_map_get(&m, "key-1", 5), 7);
	scen_map_release(&m);
}

struct ref {
	char key[24];
	size_t klen;
	uint64_t value;
	int present;
};

static void make_key(struct ref *r, size_t i)
{
	/* varied lengths (0..23), binary bytes, never two the same */
	uint64_t x = rnd();
	size_t n = (size_t)(x % 16);

	memcpy(r->key, &i, sizeof i);
	for (size_t k = 0; k < n; k++)
		r->key[sizeof i + k] = (char)(rnd() & 0xff);
	r->klen = sizeof i + n;
	r->present = 0;
	r->value = 0;
}

static void check_all(const struct scen_map *m, const struct ref *refs,
		      size_t n)
{
	size_t live = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t *v = scen_map_get(m, refs[i].key, refs[i].klen);

		if (refs[i].present) {
			live++;
			if (!v)
				fail_msg("key %zu lost", i);
			assert_int_equal(*v, refs[i].value);
		} else if (v) {
			fail_msg("deleted key %zu still found", i);
		}
	}
	assert_int_equal(m->len, live);
}

/* Random put/get/del against a reference; the table grows through
 * several sizes and shrinks back to empty. */
static void test_random_against_reference(void **state)
{
	enum { NKEYS = 5000, NOPS = 200000 };
	struct ref *refs = xcalloc(NKEYS, sizeof *refs);
	struct scen_map m;

	seed(0x5eed0001);
	for (size_t i = 0; i < NKEYS; i++)
		make_key(&refs[i], i);
	scen_map_init(&m);
	for (size_t op = 0; op < NOPS; op++) {
		size_t i = (size_t)(rnd() % NKEYS);
		struct ref *r = &refs[i];
		unsigned kind = (unsigned)(rnd() % 10);
		/* more puts in the first half, more deletes in the second */
		int del = op < NOPS / 2 ? kind < 3 : kind < 7;

		if (del) {
			scen_map_del(&m, r->key, r->klen);
			r->present = 0;
		} else {
			int created;
			uint64_t *v = scen_map_put(&m, r->key, r->klen,
						   &created);

			assert_int_equal(created, !r->present);
			if (r->present)
				assert_int_equal(*v, r->value);
			else
				assert_int_equal(*v, 0);
			r->value = rnd();
			*v = r->value;
			r->present = 1;
		}
		if (op % 20000 == 0) {
			check_all(&m, refs, NKEYS);
			check_invariant(&m);
		}
	}
	check_all(&m, refs, NKEYS);
	check_invariant(&m);
	for (size_t i = 0; i < NKEYS; i++) {
		scen_map_del(&m, refs[i].key, refs[i].klen);
		refs[i].present = 0;
		if (i % 500 == 0)
			check_all(&m, refs, NKEYS);
	}
	assert_int_equal(m.len, 0);
	check_invariant(&m);
	scen_map_release(&m);
	free(refs);
}

/* Every single deletion, checked fully, from a table filled to just
 * below its growth point. */
static void test_delete_each_from_full_table(void **state)
{
	enum { N = 3000 };
	struct ref *refs = xcalloc(N, sizeof *refs);

	seed(0x5eed0002);
	for (size_t i = 0; i < N; i++)
		make_key(&refs[i], i);
	for (size_t trial = 0; trial < 20; trial++) {
		struct scen_map m;
		size_t victim = (size_t)(rnd() % N);

		scen_map_init(&m);
		for (size_t i = 0; i < N; i++) {
			*scen_map_put(&m, refs[i].key, refs[i].klen, NULL) =
				i + 1;
			refs[i].value = i + 1;
			refs[i].present = 1;
		}
		scen_map_del(&m, refs[victim].key, refs[victim].klen);
		refs[victim].present = 0;
		check_invariant(&m);
		check_all(&m, refs, N);
		scen_map_release(&m);
	}
	free(refs);
}

/* Finds keys whose home slot in a table of cap slots is home. */
static size_t keys_with_home(size_t cap, size_t home, char keys[][16],
			     size_t want, uint64_t *counter)
{
	size_t n = 0;

	while (n < want) {
		char k[16];

		snprintf(k, sizeof k, "k%llu", (unsigned long long)(*counter)++);
		if ((scen_hash64(k, strlen(k)) & (cap - 1)) == home) {
			memcpy(keys[n], k, sizeof k);
			n++;
		}
	}
	return n;
}

/* Runs of entries that wrap from the last slots to the first ones: every
 * order of deleting them keeps the rest reachable. The table stays at 16
 * slots (12 entries at most before it grows). */
static void test_delete_runs_that_wrap(void **state)
{
	/* homes 14, 14, 14, 15, 0, 1, 15, 13: the run spans 13..15,0..4 */
	static const size_t homes[] = {14, 14, 14, 15, 0, 1, 15, 13};
	enum { NK = sizeof homes / sizeof homes[0] };
	char keys[NK][16];
	uint64_t counter = 0;
	struct scen_map probe;

	scen_map_init(&probe);
	size_t cap = probe.cap;
	scen_map_release(&probe);
	assert_int_equal(cap, 16);	/* the homes above assume 16 slots */
	for (size_t i = 0; i < NK; i++)
		keys_with_home(cap, homes[i], &keys[i], 1, &counter);

	seed(0x5eed0003);
	for (int trial = 0; trial < 2000; trial++) {
		struct scen_map m;
		size_t order[NK];
		int present[NK];
		int wrapped = 0;

		scen_map_init(&m);
		for (size_t i = 0; i < NK; i++) {
			*scen_map_put(&m, keys[i], strlen(keys[i]), NULL) =
				100 + i;
			present[i] = 1;
			order[i] = i;
		}
		assert_int_equal(m.cap, 16);
		/* the run really wraps: slots 15 and 0 are both taken */
		wrapped = m.slots[15].hash && m.slots[0].hash;
		assert_true(wrapped);
		check_invariant(&m);
		for (size_t i = NK - 1; i > 0; i--) {
			size_t j = (size_t)(rnd() % (i + 1)), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (size_t d = 0; d < NK; d++) {
			size_t victim = order[d];

			scen_map_del(&m, keys[victim], strlen(keys[victim]));
			present[victim] = 0;
			check_invariant(&m);
			for (size_t i = 0; i < NK; i++) {
				uint64_t *v = scen_map_get(&m, keys[i],
							   strlen(keys[i]));

				if (present[i]) {
					if (!v)
						fail_msg("trial %d: key %zu "
							 "(home %zu) lost after "
							 "deleting %zu", trial, i,
							 homes[i], victim);
					assert_int_equal(*v, 100 + i);
				} else {
					assert_null(v);
				}
			}
			/* re-inserting a deleted key finds it again */
			if (d % 3 == 0) {
				int created;

				*scen_map_put(&m, keys[victim],
					      strlen(keys[victim]), &created) =
					100 + victim;
				assert_int_equal(created, 1);
				check_invariant(&m);
				scen_map_del(&m, keys[victim],
					     strlen(keys[victim]));
				check_invariant(&m);
			}
		}
		assert_int_equal(m.len, 0);
		for (size_t i = 0; i < m.cap; i++)
			assert_int_equal(m.slots[i].hash, 0);
		scen_map_release(&m);
	}
}

/* Random wrap-around tables: many keys homed in the last few slots of a
 * larger table, deleted in random order. */
static void test_delete_random_clusters_at_the_end(void **state)
{
	uint64_t counter = 1000000;

	seed(0x5eed0004);
	for (int trial = 0; trial < 200; trial++) {
		struct scen_map m;
		char keys[40][16];
		size_t nk = 0, cap;
		int present[40];

		scen_map_init(&m);
		/* grow to 64 slots with filler keys, then delete them */
		char filler[40][32];
		for (int i = 0; i < 30; i++) {
			snprintf(filler[i], sizeof filler[i], "f%d-%d", trial,
				 i);
			scen_map_put(&m, filler[i], strlen(filler[i]), NULL);
		}
		for (int i = 0; i < 30; i++)
			scen_map_del(&m, filler[i], strlen(filler[i]));
		cap = m.cap;
		assert_int_equal(m.len, 0);
		/* up to 3/4 of cap - 1 keys homed at cap-3 .. cap-1 and 0 */
		size_t want = 12 + (size_t)(rnd() % 20);
		while (nk < want && (nk + 2) * 4 <= cap * 3) {
			size_t home = (cap - 3 + (size_t)(rnd() % 4)) &
				      (cap - 1);

			keys_with_home(cap, home, &keys[nk], 1, &counter);
			*scen_map_put(&m, keys[nk], strlen(keys[nk]), NULL) =
				nk + 1;
			present[nk] = 1;
			nk++;
		}
		assert_int_equal(m.cap, cap);
		check_invariant(&m);
		while (m.len) {
			size_t v = (size_t)(rnd() % nk);

			if (!present[v])
				continue;
			scen_map_del(&m, keys[v], strlen(keys[v]));
			present[v] = 0;
			check_invariant(&m);
			for (size_t i = 0; i < nk; i++) {
				uint64_t *p = scen_map_get(&m, keys[i],
							   strlen(keys[i]));

				if (present[i]) {
					assert_non_null(p);
					assert_int_equal(*p, i + 1);
				} else {
					assert_null(p);
				}
			}
		}
		scen_map_release(&m);
	}
}

/* Growth keeps every key and value, and keeps cap a power of two with
 * the load at most 3/4. */
static void test_growth_keeps_entries(void **state)
{
	struct scen_map m;
	char k[32];

	scen_map_init(&m);
	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof k, "session-%d", i);
		*scen_map_put(&m, k, strlen(k), NULL) = (uint64_t)i * 3;
		assert_true((m.cap & (m.cap - 1)) == 0);
		assert_true(m.len * 4 <= m.cap * 3);
	}
	assert_int_equal(m.len, 20000);
	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof k, "session-%d", i);
		uint64_t *v = scen_map_get(&m, k, strlen(k));

		assert_non_null(v);
		assert_int_equal(*v, (uint64_t)i * 3);
	}
	check_invariant(&m);
	scen_map_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_map),
		cmocka_unit_test(test_put_creates_zero_then_finds),
		cmocka_unit_test(test_keys_are_byte_strings),
		cmocka_unit_test(test_hash64_never_zero),
		cmocka_unit_test(test_key_is_copied),
		cmocka_unit_test(test_random_against_reference),
		cmocka_unit_test(test_delete_each_from_full_table),
		cmocka_unit_test(test_delete_runs_that_wrap),
		cmocka_unit_test(test_delete_random_clusters_at_the_end),
		cmocka_unit_test(test_growth_keeps_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
