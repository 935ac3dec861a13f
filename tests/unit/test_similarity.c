/* test_similarity.c — unit tests of scen_similarity (src/index.c), the
 * formula of SPEC §4: hard factors, weights, position closeness at the
 * ends of the range, min == max, weight 0, a hard position, and random
 * templates against a direct transcription of the formula. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scen/config.h"
#include "scen/index.h"
#include "scen/util.h"

#define EPS 1e-12

/* cmocka 1.1 compares floats only; similarities need doubles. */
#define assert_near(a, b, eps) do { \
	double a_ = (a), b_ = (b); \
	if (!(fabs(a_ - b_) <= (eps))) \
		fail_msg("%s = %.17g, want %.17g", #a, a_, b_); \
} while (0)

static struct scen_config *load(const char *text)
{
	struct scen_config *cfg;
	int fd = dup(2);
	FILE *devnull = fopen("/dev/null", "w");

	fflush(stderr);
	dup2(fileno(devnull), 2);
	cfg = scen_config_parse("sim.yaml", text, strlen(text), 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	fclose(devnull);
	if (!cfg)
		fail_msg("test config does not load:\n%s", text);
	return cfg;
}

/* A prompt that uses every factor of the flow mapping factors (its keys)
 * and the position, as scen.yaml(5) wants of every declared one. */
static char *prompt_of(const char *factors, int position)
{
	struct strbuf sb;
	int depth = 0;

	sb_init(&sb);
	sb_adds(&sb, position ? "\"p {position}" : "\"p");
	for (const char *p = factors; *p; p++) {
		size_t skip, n;

		depth += (*p == '{' || *p == '[') - (*p == '}' || *p == ']');
		if (depth != 1 || (*p != '{' && *p != ','))
			continue;
		skip = strspn(p + 1, " ");
		n = strcspn(p + 1 + skip, ":}");
		if (n)
			sb_addf(&sb, " {%.*s}", (int)n, p + 1 + skip);
	}
	sb_addc(&sb, '"');
	return sb.buf;
}

/* A config whose only template has the factors and position given as
 * YAML flow text ("factors: {...}\n        position: ..."). */
static struct scen_config *one_template(const char *factors,
					const char *position)
{
	char *prompt = prompt_of(factors, position != NULL);
	char *text = xasprintf(
		"provider:\n"
		"  base_url: http://127.0.0.1:9/v1\n"
		"  model: m\n"
		"  accounts: [{name: a, api_key_env: SCEN_TEST_KEY_A}]\n"
		"experiments:\n"
		"  e:\n"
		"    templates:\n"
		"      t:\n"
		"        prompt: %s\n"
		"        factors: %s\n"
		"%s%s%s",
		prompt, factors, position ? "        position: " : "",
		position ? position : "", position ? "\n" : "");
	struct scen_config *cfg = load(text);

	free(text);
	free(prompt);
	return cfg;
}

static const struct scen_template *tpl(const struct scen_config *cfg)
{
	return &cfg->experiments[0].templates[0];
}

/* Level index of the named level of the named factor. */
static uint16_t lv(const struct scen_template *t, const char *factor,
		   const char *level)
{
	int fi = scen_template_factor(t, factor);
	int li;

	assert_true(fi >= 0);
	li = scen_factor_level(&t->factors[fi], level);
	assert_true(li >= 0);
	return (uint16_t)li;
}

/* The SPEC example: tone (w 1) equal, position 4 vs 3 on 1..10 (w 1). */
static void test_spec_example_0944(void **state)
{
	struct scen_config *cfg = one_template(
		"{gender: {levels: [female, male]}, age: {levels: [younger, "
		"older]}, tone: {levels: [neutral, warm, cold], weight: 1}}",
		"{min: 1, max: 10, weight: 1}");
	const struct scen_template *t = tpl(cfg);
	uint16_t a[3], b[3];
	double s;

	a[scen_template_factor(t, "gender")] = lv(t, "gender", "female");
	a[scen_template_factor(t, "age")] = lv(t, "age", "older");
	a[scen_template_factor(t, "tone")] = lv(t, "tone", "warm");
	memcpy(b, a, sizeof a);
	s = scen_similarity(t, a, 4, b, 3);
	assert_near(s, (1 + (1 - 1.0 / 9)) / 2, EPS);
	assert_true(fabs(s - 0.944) < 0.0005);
	/* a relaxed match, not a strict one, with the SPEC's thresholds */
	assert_true(s >= 0.75 && s < 0.95);
	/* symmetric */
	assert_near(scen_similarity(t, b, 3, a, 4), s, EPS);
	/* identical: 1 */
	assert_near(scen_similarity(t, a, 4, b, 4), 1, 0);
	/* a hard factor differs: 0, whatever the soft part */
	b[scen_template_factor(t, "gender")] = lv(t, "gender", "male");
	assert_near(scen_similarity(t, a, 4, b, 4), 0, 0);
	b[scen_template_factor(t, "gender")] = lv(t, "gender", "female");
	b[scen_template_factor(t, "age")] = lv(t, "age", "younger");
	assert_near(scen_similarity(t, a, 4, b, 4), 0, 0);
	/* tone differs, position equal: (0 + 1) / 2 */
	b[scen_template_factor(t, "age")] = lv(t, "age", "older");
	b[scen_template_factor(t, "tone")] = lv(t, "tone", "cold");
	assert_near(scen_similarity(t, a, 4, b, 4), 0.5, EPS);
	scen_config_free(cfg);
}

static void test_weights(void **state)
{
	/* factors sorted: mood (w 2), tone (w 1); position w 1 on 0..4 */
	struct scen_config *cfg = one_template(
		"{tone: {levels: [n, w], weight: 1}, mood: {levels: [h, s], "
		"weight: 2}}", "{min: 0, max: 4, weight: 1}");
	const struct scen_template *t = tpl(cfg);
	uint16_t a[2] = {0, 0}, b[2];

	assert_string_equal(t->factors[0].name, "mood");
	b[0] = 1;
	b[1] = 0;	/* mood differs */
	assert_near(scen_similarity(t, a, 2, b, 2), 2.0 / 4, EPS);
	b[0] = 0;
	b[1] = 1;	/* tone differs */
	assert_near(scen_similarity(t, a, 2, b, 2), 3.0 / 4, EPS);
	/* tone differs and position 1 apart of 4: (2 + 0.75) / 4 */
	assert_near(scen_similarity(t, a, 2, b, 3), 2.75 / 4, EPS);
	b[0] = 1;	/* both differ, position 2 apart: 0.5 / 4 */
	assert_near(scen_similarity(t, a, 2, b, 0), 0.5 / 4, EPS);
	scen_config_free(cfg);
}

/* At the ends of the range, |Δ| = max − min: the position term is 0. */
static void test_position_range_ends(void **state)
{
	struct scen_config *cfg = one_template(
		"{tone: {levels: [n, w], weight: 1}}",
		"{min: 1, max: 10, weight: 1}");
	const struct scen_template *t = tpl(cfg);
	uint16_t a[1] = {0}, b[1] = {0};

	assert_near(scen_similarity(t, a, 1, b, 10), 0.5, EPS);
	assert_near(scen_similarity(t, a, 10, b, 1), 0.5, EPS);
	b[0] = 1;
	assert_near(scen_similarity(t, a, 1, b, 10), 0, EPS);
	/* closeness decreases linearly in |Δ| */
	b[0] = 0;
	for (long p = 1; p <= 10; p++)
		assert_near(scen_similarity(t, a, 1, b, p),
				    (1 + (1 - (p - 1) / 9.0)) / 2, EPS);
	scen_config_free(cfg);

	/* position as the only soft part */
	cfg = one_template("{g: {levels: [x, y]}}",
			   "{min: 5, max: 9, weight: 3}");
	t = tpl(cfg);
	assert_near(scen_similarity(t, a, 5, b, 9), 0, EPS);
	assert_near(scen_similarity(t, a, 5, b, 7), 0.5, EPS);
	assert_near(scen_similarity(t, a, 8, b, 8), 1, EPS);
	scen_config_free(cfg);
}

/* min == max: one position only, so the term is always 1 (no division
 * by zero). */
static void test_position_min_equals_max(void **state)
{
	struct scen_config *cfg = one_template(
		"{tone: {levels: [n, w], weight: 1}}",
		"{min: 3, max: 3, weight: 1}");
	const struct scen_template *t = tpl(cfg);
	uint16_t a[1] = {0}, b[1] = {0};
	double s;

	s = scen_similarity(t, a, 3, b, 3);
	assert_false(isnan(s));
	assert_near(s, 1, 0);
	b[0] = 1;
	assert_near(scen_similarity(t, a, 3, b, 3), 0.5, EPS);
	scen_config_free(cfg);
}

/* With no soft factors and no soft position, similarity is 1 or 0. */
static void test_no_soft_part_is_one_or_zero(void **state)
{
	struct scen_config *cfg = one_template(
		"{g: {levels: [x, y]}, h: {levels: [p, q, r]}}", NULL);
	const struct scen_template *t = tpl(cfg);
	uint16_t a[2], b[2];

	for (uint16_t i = 0; i < 6; i++)
		for (uint16_t j = 0; j < 6; j++) {
			a[0] = i / 3;
			a[1] = i % 3;
			b[0] = j / 3;
			b[1] = j % 3;
			assert_near(scen_similarity(t, a, 0, b, 0),
					    i == j ? 1 : 0, 0);
		}
	scen_config_free(cfg);

	/* no factors at all: always 1 */
	cfg = one_template("{}", NULL);
	assert_near(scen_similarity(tpl(cfg), a, 0, b, 0), 1, 0);
	scen_config_free(cfg);
}

/* weight 0: the factor is soft (may vary) but does not count. */
static void test_weight_zero(void **state)
{
	struct scen_config *cfg = one_template(
		"{filler: {levels: [a, b], weight: 0}, tone: {levels: [n, w], "
		"weight: 1}}", NULL);
	const struct scen_template *t = tpl(cfg);
	uint16_t a[2] = {0, 0}, b[2] = {1, 0};	/* filler, tone */
	double s;

	assert_true(t->factors[0].soft);
	assert_near(scen_similarity(t, a, 0, b, 0), 1, EPS);
	b[1] = 1;
	assert_near(scen_similarity(t, a, 0, b, 0), 0, EPS);
	scen_config_free(cfg);

	/* only weight-0 soft factors: no division by zero, and a difference
	 * in them does not make the scenario unusable */
	cfg = one_template("{filler: {levels: [a, b], weight: 0}}",
			   "{min: 1, max: 4, weight: 0}");
	t = tpl(cfg);
	a[0] = 0;
	b[0] = 1;
	s = scen_similarity(t, a, 1, b, 4);
	assert_false(isnan(s));
	assert_near(s, 1, 0);
	scen_config_free(cfg);
}

/* A position declared without a weight is hard like a factor. */
static void test_hard_position(void **state)
{
	struct scen_config *cfg = one_template(
		"{tone: {levels: [n, w], weight: 1}}", "{min: 1, max: 10}");
	const struct scen_template *t = tpl(cfg);
	uint16_t a[1] = {0}, b[1] = {0};

	assert_false(t->position.soft);
	assert_near(scen_similarity(t, a, 4, b, 4), 1, 0);
	assert_near(scen_similarity(t, a, 4, b, 5), 0, 0);
	assert_near(scen_similarity(t, a, 1, b, 10), 0, 0);
	b[0] = 1;
	assert_near(scen_similarity(t, a, 4, b, 4), 0, EPS);
	scen_config_free(cfg);

	/* hard position and nothing soft: 1 or 0 */
	cfg = one_template("{}", "{min: 1, max: 3}");
	t = tpl(cfg);
	assert_near(scen_similarity(t, a, 2, b, 2), 1, 0);
	assert_near(scen_similarity(t, a, 2, b, 3), 0, 0);
	scen_config_free(cfg);
}

/* The formula of SPEC §4, transcribed directly. */
static double reference(const struct scen_template *t, const uint16_t *a,
			long ap, const uint16_t *b, long bp)
{
	double num = 0, den = 0;

	for (size_t i = 0; i < t->nfactors; i++) {
		if (!t->factors[i].soft) {
			if (a[i] != b[i])
				return 0;
			continue;
		}
		num += t->factors[i].weight * (a[i] == b[i]);
		den += t->factors[i].weight;
	}
	if (t->position.declared) {
		const struct scen_position *p = &t->position;

		if (!p->soft) {
			if (ap != bp)
				return 0;
		} else {
			double range = (double)(p->max - p->min);

			num += p->weight * (range ? 1 - fabs((double)(ap - bp)) /
						    range : 1);
			den += p->weight;
		}
	}
	return den > 0 ? num / den : 1;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random templates (hard and soft factors, weights, a soft, hard or no
 * position) against the transcription; also 0 <= sim <= 1 and symmetry. */
static void test_random_templates_match_formula(void **state)
{
	static const char *const weights[] = {"0", "0.5", "1", "2", "3.25"};

	for (int trial = 0; trial < 200; trial++) {
		struct strbuf f;
		char pos[96] = "";
		int nf = (int)(rnd() % 5), npos = (int)(rnd() % 3);
		long pmin = (long)(rnd() % 5), pmax = pmin + (long)(rnd() % 7);
		struct scen_config *cfg;
		const struct scen_template *t;

		sb_init(&f);
		sb_addc(&f, '{');
		for (int i = 0; i < nf; i++) {
			int nl = 1 + (int)(rnd() % 4), soft = (int)(rnd() % 3);

			sb_addf(&f, "%sf%d: {levels: [", i ? ", " : "", i);
			for (int l = 0; l < nl; l++)
				sb_addf(&f, "%sl%d", l ? ", " : "", l);
			sb_adds(&f, "]");
			if (soft)
				sb_addf(&f, ", weight: %s",
					weights[rnd() % 5]);
			sb_adds(&f, "}");
		}
		sb_addc(&f, '}');
		if (npos == 1)
			snprintf(pos, sizeof pos, "{min: %ld, max: %ld}", pmin,
				 pmax);
		else if (npos == 2)
			snprintf(pos, sizeof pos,
				 "{min: %ld, max: %ld, weight: %s}", pmin, pmax,
				 weights[rnd() % 5]);
		cfg = one_template(f.buf, npos ? pos : NULL);
		t = tpl(cfg);
		for (int k = 0; k < 300; k++) {
			uint16_t a[8], b[8];
			long ap = pmin, bp = pmin;

			for (size_t i = 0; i < t->nfactors; i++) {
				a[i] = (uint16_t)(rnd() % t->factors[i].nlevels);
				b[i] = rnd() % 2 ? a[i] :
				       (uint16_t)(rnd() % t->factors[i].nlevels);
			}
			if (npos) {
				ap = pmin + (long)(rnd() % (pmax - pmin + 1));
				bp = pmin + (long)(rnd() % (pmax - pmin + 1));
			}
			double s = scen_similarity(t, a, ap, b, bp);
			double want = reference(t, a, ap, b, bp);

			if (!(s >= 0 && s <= 1) || fabs(s - want) > 1e-9)
				fail_msg("%s pos %s: sim %.17g, formula %.17g",
					 f.buf, pos, s, want);
			assert_near(scen_similarity(t, b, bp, a, ap), s,
					    1e-12);
			assert_near(scen_similarity(t, a, ap, a, ap), 1,
					    0);
		}
		scen_config_free(cfg);
		sb_release(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example_0944),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_position_range_ends),
		cmocka_unit_test(test_position_min_equals_max),
		cmocka_unit_test(test_no_soft_part_is_one_or_zero),
		cmocka_unit_test(test_weight_zero),
		cmocka_unit_test(test_hard_position),
		cmocka_unit_test(test_random_templates_match_formula),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
