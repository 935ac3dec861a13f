/* test_config.c — unit tests of the scen.yaml loader (src/config.c,
 * config_yaml.c, template.c): the example of scen.yaml(5), defaults, levels,
 * template versions, rendering, keys, and every broken config of
 * tests/data/config-bad naming its LINE:COLUMN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "capture.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scen/config.h"
#include "scen/util.h"

static const char *data_dir(void)
{
	const char *d = getenv("SCEN_TEST_DATA");

	return d && *d ? d : "tests/data";
}


static struct scen_config *parse(const char *name, const char *text,
				 int require_keys, char **err)
{
	struct scen_config *cfg;

	capture_start();
	cfg = scen_config_parse(name, text, strlen(text), require_keys);
	*err = capture_end();
	return cfg;
}

#define MINI_PROVIDER \
	"provider:\n" \
	"  base_url: http://127.0.0.1:9/v1/\n" \
	"  model: m\n" \
	"  accounts: [{name: a, api_key_env: SCEN_TEST_KEY_A}]\n"

static void test_tiers(void **state)
{
	for (int i = 0; i < SCEN_TIER_COUNT; i++)
		assert_int_equal(scen_tier_from_name(scen_tier_name(i)), i);
	assert_string_equal(scen_tier_name(SCEN_TIER_RELAXED), "relaxed");
	assert_int_equal(scen_tier_from_name("fresh"), SCEN_TIER_FRESH);
	assert_int_equal(scen_tier_from_name("Fresh"), -1);
	assert_int_equal(scen_tier_from_name(NULL), -1);
}

static void test_path(void **state)
{
	unsetenv("SCEN_CONFIG");
	assert_string_equal(scen_config_path(NULL), "scen.yaml");
	setenv("SCEN_CONFIG", "", 1);
	assert_string_equal(scen_config_path(NULL), "scen.yaml");
	setenv("SCEN_CONFIG", "/etc/scen/study.yaml", 1);
	assert_string_equal(scen_config_path(NULL), "/etc/scen/study.yaml");
	assert_string_equal(scen_config_path("x.yaml"), "x.yaml");
	unsetenv("SCEN_CONFIG");
}

static void test_spec_example(void **state)
{
	char *path = xasprintf("%s/config/good.yaml", data_dir());
	char *dbpath = xasprintf("%s/config/scen.db", data_dir());
	struct scen_config *cfg;
	struct scen_experiment *e;
	struct scen_template *t;
	char *err;

	capture_start();
	cfg = scen_config_load(path, 0);
	err = capture_end();
	assert_non_null(cfg);
	assert_string_equal(err, "");
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->database, dbpath);
	assert_string_equal(cfg->provider.base_url,
			    "https://api.groq.com/openai/v1");
	assert_string_equal(cfg->provider.model, "llama-3.1-8b-instant");
	assert_true(cfg->provider.timeout_s == 20);
	assert_true(cfg->provider.deadline_s == 8);
	assert_int_equal(cfg->provider.max_concurrency, 8);
	assert_true(cfg->provider.temperature == 0.9);
	assert_int_equal(cfg->provider.max_tokens, 600);
	assert_int_equal(cfg->provider.naccounts, 3);
	assert_string_equal(cfg->provider.accounts[1].name, "groq-b");
	assert_string_equal(cfg->provider.accounts[2].api_key_env,
			    "GROQ_API_KEY_3");
	assert_int_equal(cfg->provider.accounts[0].rpm, 30);
	assert_int_equal(cfg->provider.accounts[0].rph, 600);
	assert_int_equal(cfg->provider.accounts[0].rpd, 14400);
	assert_int_equal(cfg->provider.accounts[0].tpm, 6000);
	assert_int_equal(cfg->provider.day_resets_min, 0);
	assert_int_equal(cfg->provider.breaker_failures, 5);
	assert_true(cfg->provider.breaker_cooldown_s == 60);
	assert_true(cfg->cache.strict == 0.95 && cfg->cache.relaxed == 0.75);
	assert_int_equal(cfg->cache.max_serves, 50);
	assert_int_equal(cfg->cache.no_repeat_per_session, 1);
	assert_true(cfg->cache.band_lo == 0.60 && cfg->cache.band_hi == 0.70);
	assert_int_equal(cfg->nfallback, 4);
	assert_int_equal(cfg->fallback[0], SCEN_TIER_CACHE);
	assert_int_equal(cfg->fallback[3], SCEN_TIER_RELAXED);
	assert_int_equal(cfg->pool.variants, 3);
	assert_true(cfg->pool.max_age_days == 7);
	assert_true(cfg->pool.quota_share == 0.5);
	assert_true(cfg->alerts.key_usage == 0.90);
	assert_true(cfg->alerts.hit_rate_min == 0.50);
	assert_true(cfg->alerts.queue_wait_s == 10);
	assert_true(cfg->alerts.error_rate == 0.05);
	assert_int_equal(cfg->alerts.pool_min, 100);

	assert_int_equal(cfg->nexperiments, 1);
	e = scen_config_experiment(cfg, "trust-2026");
	assert_ptr_equal(e, &cfg->experiments[0]);
	assert_null(scen_config_experiment(cfg, "trust"));
	assert_string_equal(e->system, "You write short, realistic workplace "
			    "scenarios for a psychology study.");
	t = scen_experiment_template(e, "hiring");
	assert_non_null(t);
	assert_null(scen_experiment_template(e, "hirng"));
	assert_ptr_equal(t->experiment, e);
	assert_int_equal(t->nfactors, 3);	/* sorted by name */
	assert_string_equal(t->factors[0].name, "age");
	assert_string_equal(t->factors[1].name, "gender");
	assert_string_equal(t->factors[2].name, "tone");
	assert_int_equal(scen_template_factor(t, "tone"), 2);
	assert_int_equal(scen_template_factor(t, "mood"), -1);
	assert_false(t->factors[1].soft);
	assert_true(t->factors[2].soft && t->factors[2].weight == 1);
	assert_int_equal(t->factors[2].nlevels, 3);
	assert_int_equal(scen_factor_level(&t->factors[2], "cold"), 2);
	assert_int_equal(scen_factor_level(&t->factors[2], "Cold"), -1);
	assert_true(t->position.declared && t->position.soft);
	assert_int_equal(t->position.min, 1);
	assert_int_equal(t->position.max, 10);
	assert_int_equal(t->validate.min_chars, 200);
	assert_int_equal(t->validate.max_chars, 2000);
	assert_int_equal(t->validate.nreject, 3);
	assert_string_equal(t->validate.reject[0], "as an ai");
	/* Pinned: another hash of the same template would orphan every
	 * scenario stored under it (scen.yaml(5), Template versions). */
	assert_string_equal(t->version_hex, "e5714697efafd4605c7f3a985a5ce1a1");
	for (int i = 0; i < 16; i++) {
		char hx[3];

		snprintf(hx, sizeof hx, "%02x", t->version[i]);
		assert_memory_equal(hx, t->version_hex + 2 * i, 2);
	}
	scen_config_free(cfg);
	free(err);
	free(path);
	free(dbpath);
}

static void test_defaults(void **state)
{
	const char *text = MINI_PROVIDER
		"experiments:\n"
		"  e:\n"
		"    templates:\n"
		"      t: {prompt: \"Hello {{world}}\", factors: {}}\n";
	struct scen_config *cfg;
	struct scen_template *t;
	char *err;

	cfg = parse("mini.yaml", text, 0, &err);
	assert_non_null(cfg);
	assert_string_equal(err, "");
	assert_string_equal(cfg->database, "scen.db");
	assert_string_equal(cfg->provider.base_url, "http://127.0.0.1:9/v1");
	assert_true(cfg->provider.timeout_s == 20);
	assert_true(cfg->provider.deadline_s == 8);
	assert_int_equal(cfg->provider.max_concurrency, 8);
	assert_true(cfg->provider.temperature == 0.9);
	assert_int_equal(cfg->provider.max_tokens, 600);
	assert_int_equal(cfg->provider.accounts[0].rpm, 0);
	assert_int_equal(cfg->provider.accounts[0].tpm, 0);
	assert_null(cfg->provider.accounts[0].key);
	assert_int_equal(cfg->provider.day_resets_min, 0);
	assert_int_equal(cfg->provider.breaker_failures, 5);
	assert_true(cfg->provider.breaker_cooldown_s == 60);
	assert_true(cfg->cache.strict == 0.95 && cfg->cache.relaxed == 0.75);
	assert_int_equal(cfg->cache.max_serves, 50);
	assert_int_equal(cfg->cache.no_repeat_per_session, 1);
	assert_true(cfg->cache.band_lo == 0.60 && cfg->cache.band_hi == 0.70);
	assert_int_equal(cfg->nfallback, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(cfg->fallback[i], i);
	assert_int_equal(cfg->pool.variants, 3);
	assert_true(cfg->pool.max_age_days == 7);
	assert_true(cfg->pool.quota_share == 0.5);
	assert_true(cfg->alerts.key_usage == 0.90);
	assert_int_equal(cfg->alerts.pool_min, 100);
	assert_string_equal(cfg->experiments[0].system, "");
	t = &cfg->experiments[0].templates[0];
	assert_int_equal(t->nfactors, 0);
	assert_false(t->position.declared);
	assert_int_equal(t->validate.min_chars, 1);
	assert_int_equal(t->validate.max_chars, 100000);
	assert_int_equal(t->validate.nreject, 0);
	scen_config_free(cfg);
	free(err);

	/* The database is found next to the config, unless absolute. */
	cfg = parse("/etc/scen/study.yaml", text, 0, &err);
	assert_non_null(cfg);
	assert_string_equal(cfg->database, "/etc/scen/scen.db");
	scen_config_free(cfg);
	free(err);
	scen_config_free(NULL);
}

static void test_settings(void **state)
{
	const char *text =
		"database: /var/lib/scen/x.db\n"
		"provider:\n"
		"  base_url: http://h/v1\n"
		"  model: m\n"
		"  accounts: [{name: a, api_key_env: K_A, rpm: 0, tpm: 5}]\n"
		"  day_resets_at: \"07:30Z\"\n"
		"  breaker: {failures: 2, cooldown_s: 1.5}\n"
		"cache: {no_repeat_per_session: false, hit_rate_band: [0, 1]}\n"
		"fallback: [pool, cache]\n"
		"experiments:\n"
		"  b: {templates: {t: {prompt: p, factors: {}}}}\n"
		"  a:\n"
		"    templates:\n"
		"      z: {prompt: p, factors: {}}\n"
		"      y: {prompt: p, factors: {}}\n";
	struct scen_config *cfg;
	char *err;

	cfg = parse("dir/s.yaml", text, 0, &err);
	assert_non_null(cfg);
	assert_string_equal(cfg->database, "/var/lib/scen/x.db");
	assert_int_equal(cfg->provider.day_resets_min, 7 * 60 + 30);
	assert_int_equal(cfg->provider.breaker_failures, 2);
	assert_true(cfg->provider.breaker_cooldown_s == 1.5);
	assert_int_equal(cfg->provider.accounts[0].tpm, 5);
	assert_int_equal(cfg->cache.no_repeat_per_session, 0);
	assert_int_equal(cfg->nfallback, 2);
	assert_int_equal(cfg->fallback[0], SCEN_TIER_POOL);
	assert_int_equal(cfg->fallback[1], SCEN_TIER_CACHE);
	assert_string_equal(cfg->experiments[0].name, "a");
	assert_string_equal(cfg->experiments[0].templates[0].name, "y");
	assert_ptr_equal(cfg->experiments[0].templates[1].experiment,
			 &cfg->experiments[0]);
	assert_ptr_equal(cfg->experiments[1].templates[0].experiment,
			 &cfg->experiments[1]);
	scen_config_free(cfg);
	free(err);
}

static void test_number_levels(void **state)
{
	static const char *const want[] = {
		"25", "2.5", "30", "1000", "0", "3", "0.1", "abc", "007", "7",
		"true", "-4"
	};
	const char *text = MINI_PROVIDER
		"experiments:\n"
		"  e:\n"
		"    templates:\n"
		"      t:\n"
		"        prompt: \"{n}\"\n"
		"        factors:\n"
		"          n: {levels: [25, 2.5, \"30\", 1e3, -0, 3.0, 0.1,"
		" abc, \"007\", 007, true, -4]}\n";
	struct scen_config *cfg;
	struct scen_factor *f;
	char *err;

	cfg = parse("n.yaml", text, 0, &err);
	assert_non_null(cfg);
	f = &cfg->experiments[0].templates[0].factors[0];
	assert_int_equal(f->nlevels, 12);
	for (size_t i = 0; i < 12; i++)
		assert_string_equal(f->levels[i], want[i]);
	assert_int_equal(scen_factor_level(f, "1000"), 3);
	scen_config_free(cfg);
	free(err);

	/* 25 and "25" are one level, as are 2.50 and 2.5. */
	cfg = parse("n.yaml", MINI_PROVIDER "experiments: {e: {templates: {t: "
		    "{prompt: p, factors: {n: {levels: [25, \"25\"]}}}}}}\n",
		    0, &err);
	assert_null(cfg);
	assert_non_null(strstr(err, "duplicate level '25'"));
	free(err);
	cfg = parse("n.yaml", MINI_PROVIDER "experiments: {e: {templates: {t: "
		    "{prompt: p, factors: {n: {levels: [2.50, 2.5]}}}}}}\n",
		    0, &err);
	assert_null(cfg);
	free(err);
}

struct vopts {
	const char *system, *prompt, *model, *temp, *tokens, *weight,
		   *validate;
};

static char *version_of(struct vopts o)
{
	char *text = xasprintf(
		"provider:\n"
		"  base_url: http://h/v1\n"
		"  model: %s\n"
		"  temperature: %s\n"
		"  max_tokens: %s\n"
		"  accounts: [{name: a, api_key_env: SCEN_TEST_KEY_A}]\n"
		"experiments:\n"
		"  e:\n"
		"    system: \"%s\"\n"
		"    templates:\n"
		"      t:\n"
		"        prompt: \"%s\"\n"
		"        factors:\n"
		"          tone: {levels: [warm, cold], weight: %s}\n"
		"        validate: %s\n",
		o.model, o.temp, o.tokens, o.system, o.prompt, o.weight,
		o.validate);
	struct scen_config *cfg;
	char *err, *v;

	cfg = parse("v.yaml", text, 0, &err);
	if (!cfg)
		print_error("%s", err);
	assert_non_null(cfg);
	v = xstrdup(cfg->experiments[0].templates[0].version_hex);
	scen_config_free(cfg);
	free(err);
	free(text);
	return v;
}

static void test_version(void **state)
{
	const struct vopts base = {
		"Sys.", "A {tone} text.", "m1", "0.9", "600", "1",
		"{min_chars: 10, max_chars: 900, reject: [\"as an AI\", x]}"
	};
	struct vopts o;
	char *v0 = version_of(base), *v;

	/* pinned, like the version in test_spec_example */
	assert_string_equal(v0, "7a23d0ac145c439c8767a217f17ba95f");

#define DIFFERS(field, value) do { \
	o = base; \
	o.field = value; \
	v = version_of(o); \
	assert_string_not_equal(v, v0); \
	free(v); \
} while (0)
#define SAME(field, value) do { \
	o = base; \
	o.field = value; \
	v = version_of(o); \
	assert_string_equal(v, v0); \
	free(v); \
} while (0)

	SAME(system, "Sys.");
	DIFFERS(system, "Sys!");
	DIFFERS(system, "");
	DIFFERS(prompt, "A {tone} text!");
	DIFFERS(model, "m2");
	DIFFERS(temp, "0.90000001");
	DIFFERS(tokens, "601");
	DIFFERS(validate, "{min_chars: 11, max_chars: 900, reject: "
		"[\"as an AI\", x]}");
	DIFFERS(validate, "{min_chars: 10, max_chars: 901, reject: "
		"[\"as an AI\", x]}");
	DIFFERS(validate, "{min_chars: 10, max_chars: 900, reject: "
		"[\"as an AI\"]}");
	DIFFERS(validate, "{min_chars: 10, max_chars: 900, reject: "
		"[\"as an AI\", \"x \"]}");
	/* What does not shape the output keeps the version. */
	SAME(weight, "0.5");
	SAME(temp, "0.90");
	SAME(validate, "{min_chars: 10, max_chars: 900, reject: "
	     "[X, \"AS AN AI\"]}");
	free(v0);
#undef DIFFERS
#undef SAME
}

static void test_render(void **state)
{
	const char *text = MINI_PROVIDER
		"experiments:\n"
		"  e:\n"
		"    system: \"A {age}-year-old; {{x}}.\"\n"
		"    templates:\n"
		"      t:\n"
		"        prompt: \"{{{tone}}} {age}, scene {position} of 10 "
		"{{}}\"\n"
		"        factors:\n"
		"          tone: {levels: [warm, cold]}\n"
		"          age: {levels: [25, 2.5, \"old\"]}\n"
		"        position: {min: 1, max: 10}\n";
	struct scen_config *cfg;
	struct scen_template *t;
	char *err, *s;
	int idx[2];

	cfg = parse("r.yaml", text, 0, &err);
	assert_non_null(cfg);
	t = &cfg->experiments[0].templates[0];
	assert_string_equal(t->factors[0].name, "age");
	idx[0] = 1;
	idx[1] = 1;
	s = scen_render(t->prompt, t, idx, 3);
	assert_string_equal(s, "{cold} 2.5, scene 3 of 10 {}");
	free(s);
	idx[0] = 0;
	s = scen_render(cfg->experiments[0].system, t, idx, 3);
	assert_string_equal(s, "A 25-year-old; {x}.");
	free(s);
	s = scen_render("", t, idx, 0);
	assert_string_equal(s, "");
	free(s);
	scen_config_free(cfg);
	free(err);
}

/* System placeholders must be declared by every template. */
static void test_system_placeholders(void **state)
{
	const char *ok = MINI_PROVIDER
		"experiments:\n"
		"  e:\n"
		"    system: \"Tone {tone}, scene {position}.\"\n"
		"    templates:\n"
		"      a: {prompt: p, factors: {tone: {levels: [w]}},"
		" position: {min: 1, max: 2}}\n"
		"      b: {prompt: p, factors: {tone: {levels: [c]}},"
		" position: {min: 0, max: 0, weight: 2}}\n";
	const char *bad = MINI_PROVIDER
		"experiments:\n"
		"  e:\n"
		"    system: \"Scene {position}.\"\n"
		"    templates:\n"
		"      a: {prompt: p, factors: {},"
		" position: {min: 1, max: 2}}\n"
		"      b: {prompt: p, factors: {}}\n";
	struct scen_config *cfg;
	char *err;

	cfg = parse("s.yaml", ok, 0, &err);
	assert_non_null(cfg);
	assert_true(cfg->experiments[0].templates[1].position.soft);
	assert_true(cfg->experiments[0].templates[1].position.weight == 2);
	assert_false(cfg->experiments[0].templates[0].position.soft);
	scen_config_free(cfg);
	free(err);
	cfg = parse("s.yaml", bad, 0, &err);
	assert_null(cfg);
	assert_non_null(strstr(err, "s.yaml:7:13: "));
	assert_non_null(strstr(err, "template 'b' declares no position"));
	free(err);
}

/* Every declared factor and position must reach the model: a placeholder
 * in the system text counts, as the model sees that text too. */
static void test_declared_reach_the_model(void **state)
{
	const char *ok = MINI_PROVIDER
		"experiments:\n"
		"  e:\n"
		"    system: \"Write in a {tone} tone.\"\n"
		"    templates:\n"
		"      t: {prompt: \"A {age} person, scene {position}.\","
		" factors: {age: {levels: [a, b]}, tone: {levels: [w, c]}},"
		" position: {min: 1, max: 2}}\n"
		"      u: {prompt: \"Anyone.\", factors: {tone: {levels: [w]}}}\n";
	const char *bad = MINI_PROVIDER
		"experiments:\n"
		"  e:\n"
		"    system: \"Write in a {{tone}} tone.\"\n"
		"    templates:\n"
		"      t: {prompt: \"A {age} person.\","
		" factors: {age: {levels: [a, b]}, tone: {levels: [w, c]}}}\n";
	struct scen_config *cfg;
	char *err;

	cfg = parse("u.yaml", ok, 0, &err);
	assert_non_null(cfg);
	assert_string_equal(err, "");
	scen_config_free(cfg);
	free(err);
	cfg = parse("u.yaml", bad, 0, &err);
	assert_null(cfg);
	assert_non_null(strstr(err, "u.yaml:9:71: factor 'tone' of template "
				    "'t' is not used"));
	free(err);
	/* a command that only reads (scen-export, scen-cache-stats) loads
	 * it, with a warning: the study's data stays readable */
	cfg = parse("u.yaml", bad, SCEN_CONFIG_READER, &err);
	assert_non_null(cfg);
	assert_non_null(strstr(err, "u.yaml:9:71: factor 'tone' of template "
				    "'t' is not used (generating would "
				    "refuse this config)"));
	scen_config_free(cfg);
	free(err);
}

static void test_keys(void **state)
{
	const char *text =
		"provider:\n"
		"  base_url: http://h/v1\n"
		"  model: m\n"
		"  accounts:\n"
		"    - {name: a, api_key_env: SCEN_TEST_KEY_A}\n"
		"    - {name: b, api_key_env: SCEN_TEST_KEY_B}\n"
		"experiments:\n"
		"  e: {templates: {t: {prompt: p, factors: {}}}}\n";
	struct scen_config *cfg;
	char *err;

	unsetenv("SCEN_TEST_KEY_A");
	unsetenv("SCEN_TEST_KEY_B");
	cfg = parse("k.yaml", text, 1, &err);
	assert_null(cfg);
	assert_non_null(strstr(err, "k.yaml:5:30: no API key: environment "
			       "variable SCEN_TEST_KEY_A is not set "
			       "(account a)"));
	assert_non_null(strstr(err, "SCEN_TEST_KEY_B is not set (account b)"));
	free(err);

	/* Commands that make no calls load without keys, silently. */
	cfg = parse("k.yaml", text, 0, &err);
	assert_non_null(cfg);
	assert_string_equal(err, "");
	assert_null(cfg->provider.accounts[0].key);
	scen_config_free(cfg);
	free(err);

	/* One key is enough; the other account is named in a warning, and
	 * the key's value is never printed. */
	setenv("SCEN_TEST_KEY_A", "gsk_sekret_value_123", 1);
	cfg = parse("k.yaml", text, 1, &err);
	assert_non_null(cfg);
	assert_string_equal(cfg->provider.accounts[0].key,
			    "gsk_sekret_value_123");
	assert_null(cfg->provider.accounts[1].key);
	assert_non_null(strstr(err, "warning"));
	assert_non_null(strstr(err, "SCEN_TEST_KEY_B is not set"));
	assert_non_null(strstr(err, "account b"));
	assert_null(strstr(err, "sekret"));
	scen_config_free(cfg);
	free(err);

	/* An empty variable counts as unset. */
	setenv("SCEN_TEST_KEY_A", "", 1);
	cfg = parse("k.yaml", text, 1, &err);
	assert_null(cfg);
	assert_non_null(strstr(err, "SCEN_TEST_KEY_A is empty (account a)"));
	free(err);
	unsetenv("SCEN_TEST_KEY_A");
}

static void test_unreadable(void **state)
{
	struct scen_config *cfg;
	char *err;

	capture_start();
	cfg = scen_config_load("/nonexistent/scen.yaml", 0);
	err = capture_end();
	assert_null(cfg);
	assert_non_null(strstr(err, "/nonexistent/scen.yaml: cannot read: "));
	free(err);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Each NN-name.yaml is refused with a message at the LINE:COLUMN that
 * NN-name.expect names. */
static void test_bad_configs(void **state)
{
	char *dir = xasprintf("%s/config-bad", data_dir());
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0) {
			XGROW(names, n + 1, cap);
			names[n++] = xstrndup(de->d_name, len - 5);
		}
	}
	closedir(d);
	assert_true(n >= 18);
	qsort(names, n, sizeof *names, cmp_name);
	for (size_t i = 0; i < n; i++) {
		char *yaml = xasprintf("%s/%s.yaml", dir, names[i]);
		char *expect = xasprintf("%s/%s.expect", dir, names[i]);
		char want[128], *needle, *err;
		struct scen_config *cfg;
		FILE *f = fopen(expect, "r");

		if (!f || !fgets(want, sizeof want, f))
			fail_msg("cannot read %s", expect);
		fclose(f);
		want[strcspn(want, "\r\n")] = 0;
		needle = xasprintf("%s.yaml:%s: ", names[i], want);
		capture_start();
		cfg = scen_config_load(yaml, 0);
		err = capture_end();
		if (cfg || !strstr(err, needle))
			fail_msg("%s: expected an error at %s, got: %s",
				 yaml, want, cfg ? "(loaded)" : err);
		free(needle);
		free(err);
		free(yaml);
		free(expect);
		free(names[i]);
	}
	free(names);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiers),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_number_levels),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_system_placeholders),
		cmocka_unit_test(test_declared_reach_the_model),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_bad_configs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
