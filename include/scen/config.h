/* config.h — scen.yaml (scen.yaml(5)): loading, validation, and the
 * declared experiments, templates and factors. Loading and lookups are in
 * src/config.c, templates and rendering in src/template.c, and both read
 * the YAML through src/config_yaml.c (internal: config_int.h). */
#ifndef SCEN_CONFIG_H
#define SCEN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum scen_tier {
	SCEN_TIER_CACHE,
	SCEN_TIER_FRESH,
	SCEN_TIER_POOL,
	SCEN_TIER_RELAXED,
	SCEN_TIER_COUNT
};
const char *scen_tier_name(enum scen_tier t);

/* How scen-pool-fill makes its calls (scen.yaml(5), pool mode): online
 * within the quota share, through the provider's Batch API, or batches
 * where the provider accepts them and online otherwise. */
enum scen_pool_mode { SCEN_POOL_ONLINE, SCEN_POOL_BATCH, SCEN_POOL_AUTO };
const char *scen_pool_mode_name(enum scen_pool_mode m);
/* -1 when name is none of online, batch, auto. */
int scen_pool_mode_from_name(const char *name);
/* -1 when name is not a tier. */
int scen_tier_from_name(const char *name);

struct scen_factor {
	char *name;
	/* Levels in canonical string form: a YAML number 25 or 2.5 is "25" or
	 * "2.5"; a request's 25 and "25" are the same level. */
	char **levels;
	size_t nlevels;
	int soft;	/* declared with a weight: may vary in a match */
	double weight;	/* >= 0; meaningful when soft */
};

struct scen_position {
	int declared;
	long min, max;	/* min <= max */
	int soft;
	double weight;
};

struct scen_validate {
	long min_chars;	/* default 1 */
	long max_chars;	/* default 100000 */
	char **reject;	/* lower-cased phrases */
	size_t nreject;
};

struct scen_experiment;

struct scen_template {
	char *name;
	/* Raw, with {placeholders}. Each factor, and the position when
	 * declared, appears as a placeholder here or in the experiment's
	 * system text (checked at load: the model sees what varies). */
	char *prompt;
	struct scen_factor *factors;	/* sorted by name */
	size_t nfactors;
	struct scen_position position;
	struct scen_validate validate;
	/* XXH3-128 over everything that shapes output: system and user prompt
	 * text, model, temperature, max_tokens, validation rules. */
	uint8_t version[16];
	char version_hex[33];
	struct scen_experiment *experiment;	/* back pointer */
};

struct scen_experiment {
	char *name;
	char *system;	/* may be "" */
	struct scen_template *templates;	/* sorted by name */
	size_t ntemplates;
};

struct scen_account {
	char *name;
	char *api_key_env;
	long rpm, rph, rpd, tpm;	/* 0 = no limit of that kind */
	/* The key's value, read from the environment at load time; NULL when
	 * the variable is unset or empty. Never printed or stored. */
	char *key;
};

struct scen_config {
	char *path;		/* the file read */
	char *database;		/* resolved relative to the config's folder */
	struct {
		char *base_url;	/* without trailing slash */
		char *model;
		double timeout_s;	/* default 20 */
		double deadline_s;	/* default 8 */
		int max_concurrency;	/* default 8 */
		double temperature;	/* default 0.9 */
		long max_tokens;	/* default 600 */
		struct scen_account *accounts;
		size_t naccounts;
		int day_resets_min;	/* minutes after 00:00 UTC, default 0 */
		int breaker_failures;	/* default 5 */
		double breaker_cooldown_s;	/* default 60 */
	} provider;
	struct {
		double strict;	/* default 0.95 */
		double relaxed;	/* default 0.75 */
		long max_serves;	/* default 50 */
		int no_repeat_per_session;	/* default 1 */
		double band_lo, band_hi;	/* default 0.60, 0.70 */
	} cache;
	/* default cache, fresh, pool, relaxed */
	enum scen_tier fallback[SCEN_TIER_COUNT];
	size_t nfallback;
	struct {
		long variants;	/* default 3 */
		double max_age_days;	/* default 7 */
		double quota_share;	/* default 0.5 */
		enum scen_pool_mode mode;	/* default online */
		int batch_attempts;	/* default 3: lines per entry */
		long batch_lines;	/* default 50000: lines per batch */
		int batch_window_h;	/* default 24: completion window */
	} pool;
	struct {
		double key_usage;	/* default 0.90 */
		double hit_rate_min;	/* default 0.50 */
		double queue_wait_s;	/* default 10 */
		double error_rate;	/* default 0.05 */
		long pool_min;		/* default 100 */
	} alerts;
	struct scen_experiment *experiments;	/* sorted by name */
	size_t nexperiments;
};

/*
 * Loads and validates path. On error returns NULL and prints one message
 * per problem "FILE:LINE:COLUMN: what is wrong" through scen_error (at most
 * a few); the caller exits 78. Accounts whose key variable is unset: an
 * error naming the variable when no account has a key, else a warning
 * (without SCEN_CONFIG_KEYS this check is skipped, for commands that make
 * no calls). With SCEN_CONFIG_READER, for commands that only read the
 * database, what only generation needs (every declared factor reaching the
 * model) is a warning, so that a study's data stays readable.
 */
enum {
	SCEN_CONFIG_KEYS = 1,
	SCEN_CONFIG_READER = 2,
};
struct scen_config *scen_config_load(const char *path, int flags);
/* Same, from a buffer (name is used in messages). */
struct scen_config *scen_config_parse(const char *name, const char *text,
				      size_t len, int flags);
/* Picks the file: explicit (-c), else $SCEN_CONFIG, else ./scen.yaml. */
const char *scen_config_path(const char *explicit_path);
void scen_config_free(struct scen_config *cfg);

/* NULL when not declared. */
struct scen_experiment *scen_config_experiment(const struct scen_config *cfg,
					       const char *name);
struct scen_template *scen_experiment_template(const struct scen_experiment *e,
					       const char *name);

/* ---- Templates (src/template.c) ---- */

/* Index of the factor in t->factors, or -1. */
int scen_template_factor(const struct scen_template *t, const char *name);
/* Index of the level in f->levels, or -1. */
int scen_factor_level(const struct scen_factor *f, const char *level);

/*
 * Renders a prompt or system text: "{name}" becomes levels[i] of the factor
 * named, "{position}" the position, "{{" and "}}" literal braces. The values
 * are the template's factors' chosen level indices (level_idx[i] for
 * t->factors[i]). Returns a malloc'd string.
 */
char *scen_render(const char *text, const struct scen_template *t,
		  const int *level_idx, long position);

#endif
