/* fuzz_config.c — libFuzzer target for the config loader
 * (scen_config_parse): arbitrary bytes as scen.yaml, and on success the
 * invariants the rest of scen relies on. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/config.h"
#include "scen/index.h"
#include "scen/request.h"
#include "scen/util.h"

/* The real stderr, for invariant reports (stderr itself may be muted). */
static FILE *report;

static void die(const char *what)
{
	fprintf(report ? report : stderr, "fuzz_config: invariant broken: "
		"%s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	scen_set_progname("fuzz_config");
	scen_verbosity = -1;
	/*
	 * scen_error() always writes to stderr: send the library's messages
	 * to /dev/null but keep fd 2 itself, which libFuzzer (its own FILE *,
	 * taken before this runs) and the sanitizers write to directly.
	 * SCEN_FUZZ_VERBOSE=1 keeps them, to see why an input is refused.
	 */
	report = stderr;
	if (!getenv("SCEN_FUZZ_VERBOSE")) {
		FILE *null = fopen("/dev/null", "w");

		if (null)
			stderr = null;
	}
	return 0;
}

static int sorted(const void *base, size_t n, size_t size)
{
	for (size_t i = 1; i < n; i++) {
		const char *a = *(char *const *)((const char *)base +
						 (i - 1) * size);
		const char *b = *(char *const *)((const char *)base + i * size);

		if (strcmp(a, b) >= 0)
			return 0;
	}
	return 1;
}

static void check_template(const struct scen_config *cfg,
			   const struct scen_experiment *e,
			   const struct scen_template *t)
{
	int lv[SCEN_MAX_FACTORS];
	uint16_t first[SCEN_MAX_FACTORS] = {0}, last[SCEN_MAX_FACTORS];
	double sim;

	if (!t->name || !*t->name || !t->prompt || t->experiment != e)
		die("template without name, prompt or experiment");
	if (!sorted(t->factors, t->nfactors, sizeof *t->factors))
		die("factors not sorted (lookups bsearch them)");
	/* A request holds SCEN_MAX_FACTORS level indices of 16 bits. */
	if (t->nfactors > SCEN_MAX_FACTORS)
		die("more factors than a request can hold");
	for (size_t i = 0; i < t->nfactors; i++) {
		const struct scen_factor *f = &t->factors[i];

		if (!f->name || !f->nlevels || f->nlevels > UINT16_MAX + 1u)
			die("factor without name or with no/too many levels");
		if (f->soft && !(f->weight >= 0))
			die("negative or NaN weight");
		if (scen_template_factor(t, f->name) != (int)i)
			die("factor lookup misses a declared factor");
		for (size_t j = 0; j < f->nlevels; j++)
			if (!f->levels[j] || !*f->levels[j] ||
			    scen_factor_level(f, f->levels[j]) != (int)j)
				die("empty or duplicate level");
		lv[i] = (int)(f->nlevels - 1);
		last[i] = (uint16_t)(f->nlevels - 1);
	}
	if (t->position.declared && t->position.min > t->position.max)
		die("position min > max");
	if (t->validate.min_chars > t->validate.max_chars)
		die("min_chars > max_chars");
	if (strlen(t->version_hex) != 32)
		die("no template version");
	if (scen_experiment_template(e, t->name) != t)
		die("template lookup misses a declared template");
	/* Every placeholder was checked at load: rendering never fails. */
	free(scen_render(t->prompt, t, lv, t->position.min));
	free(scen_render(e->system, t, lv, t->position.max));
	/* What serving computes between the two ends of the design. */
	sim = scen_similarity(t, first, t->position.min, last,
			      t->position.max);
	if (!(sim >= 0 && sim <= 1))
		die("similarity outside [0, 1]");
	if (scen_similarity(t, last, t->position.max, last,
			    t->position.max) != 1)
		die("a choice is not fully similar to itself");
	(void)cfg;
}

static void check(const struct scen_config *cfg)
{
	if (!cfg->database || !cfg->provider.base_url ||
	    !cfg->provider.model || !cfg->provider.naccounts)
		die("missing database, base_url, model or accounts");
	if (!cfg->nfallback || cfg->nfallback > SCEN_TIER_COUNT)
		die("fallback count out of range");
	for (size_t i = 0; i < cfg->nfallback; i++)
		if ((unsigned)cfg->fallback[i] >= SCEN_TIER_COUNT)
			die("fallback tier out of range");
	if (cfg->cache.relaxed > cfg->cache.strict ||
	    cfg->cache.band_lo > cfg->cache.band_hi)
		die("cache thresholds out of order");
	if (cfg->provider.day_resets_min < 0 ||
	    cfg->provider.day_resets_min >= 24 * 60)
		die("day_resets_at out of range");
	for (size_t i = 0; i < cfg->provider.naccounts; i++) {
		const struct scen_account *a = &cfg->provider.accounts[i];

		if (!a->name || !a->api_key_env || a->rpm < 0 || a->rph < 0 ||
		    a->rpd < 0 || a->tpm < 0)
			die("bad account");
	}
	if (!cfg->nexperiments ||
	    !sorted(cfg->experiments, cfg->nexperiments,
		    sizeof *cfg->experiments))
		die("experiments empty or not sorted");
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];

		if (!e->system || !e->ntemplates ||
		    !sorted(e->templates, e->ntemplates, sizeof *e->templates))
			die("experiment without system text or templates");
		if (scen_config_experiment(cfg, e->name) != e)
			die("experiment lookup misses a declared experiment");
		for (size_t j = 0; j < e->ntemplates; j++)
			check_template(cfg, e, &e->templates[j]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scen_config *cfg;

	cfg = scen_config_parse("fuzz/scen.yaml", (const char *)data, size, 0);
	if (cfg)
		check(cfg);
	scen_config_free(cfg);
	return 0;
}
