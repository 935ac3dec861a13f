/* config.c — the schema of scen.yaml(5): loads a config through the YAML
 * layer of config_yaml.c (templates through template.c), reads the API keys
 * from the environment, and looks up what it declares. */
#include "scen/config.h"
#include "scen/config_int.h"
#include "scen/db.h"
#include "scen/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static const char *const tier_names[SCEN_TIER_COUNT] = {
	"cache", "fresh", "pool", "relaxed"
};

const char *scen_tier_name(enum scen_tier t)
{
	return (unsigned)t < SCEN_TIER_COUNT ? tier_names[t] : "?";
}

int scen_tier_from_name(const char *name)
{
	for (int i = 0; name && i < SCEN_TIER_COUNT; i++)
		if (strcmp(name, tier_names[i]) == 0)
			return i;
	return -1;
}

const char *scen_config_path(const char *explicit_path)
{
	const char *env = getenv("SCEN_CONFIG");

	if (explicit_path)
		return explicit_path;
	return env && *env ? env : "scen.yaml";
}

/* ---- The keys of each mapping (scen.yaml(5)) ---- */

#define CFG(m) offsetof(struct scen_config, m)

static const struct cfg_field top_fields[] = {
	{.key = "database"}, {.key = "provider"}, {.key = "cache"},
	{.key = "fallback"}, {.key = "pool"}, {.key = "alerts"},
	{.key = "experiments"}, {0}
};

static const struct cfg_field provider_fields[] = {
	{.key = "base_url"}, {.key = "model"},
	{"timeout_s", F_NUM, 20, 0, INF, 1, CFG(provider.timeout_s)},
	{"deadline_s", F_NUM, 8, 0, INF, 1, CFG(provider.deadline_s)},
	{"max_concurrency", F_INT, 8, 1, 10000, 0,
	 CFG(provider.max_concurrency)},
	{"temperature", F_NUM, 0.9, 0, 2, 0, CFG(provider.temperature)},
	{"max_tokens", F_LONG, 600, 1, INF, 0, CFG(provider.max_tokens)},
	{.key = "accounts"}, {.key = "day_resets_at"}, {.key = "breaker"},
	{0}
};

static const struct cfg_field breaker_fields[] = {
	{"failures", F_INT, 5, 1, 10000, 0, CFG(provider.breaker_failures)},
	{"cooldown_s", F_NUM, 60, 0, INF, 1, CFG(provider.breaker_cooldown_s)},
	{0}
};

static const struct cfg_field account_fields[] = {
	{.key = "name"}, {.key = "api_key_env"},
	{"rpm", F_LONG, 0, 0, INF, 0, offsetof(struct scen_account, rpm)},
	{"rph", F_LONG, 0, 0, INF, 0, offsetof(struct scen_account, rph)},
	{"rpd", F_LONG, 0, 0, INF, 0, offsetof(struct scen_account, rpd)},
	{"tpm", F_LONG, 0, 0, INF, 0, offsetof(struct scen_account, tpm)},
	{0}
};

static const struct cfg_field cache_fields[] = {
	{"strict", F_NUM, 0.95, 0, 1, 1, CFG(cache.strict)},
	{"relaxed", F_NUM, 0.75, 0, 1, 1, CFG(cache.relaxed)},
	{"max_serves", F_LONG, 50, 1, INF, 0, CFG(cache.max_serves)},
	{"no_repeat_per_session", F_BOOL, 1, 0, 1, 0,
	 CFG(cache.no_repeat_per_session)},
	{.key = "hit_rate_band"}, {0}
};

static const struct cfg_field pool_fields[] = {
	{"variants", F_LONG, 3, 1, INF, 0, CFG(pool.variants)},
	{"max_age_days", F_NUM, 7, 0, INF, 1, CFG(pool.max_age_days)},
	{"quota_share", F_NUM, 0.5, 0, 1, 0, CFG(pool.quota_share)},
	{.key = "mode"},
	{"batch_attempts", F_INT, 3, 1, 100, 0, CFG(pool.batch_attempts)},
	{"batch_lines", F_LONG, 50000, 1, 50000, 0, CFG(pool.batch_lines)},
	{"batch_window_h", F_INT, 24, 24, 168, 0, CFG(pool.batch_window_h)},
	{0}
};

static const char *const pool_modes[] = {"online", "batch", "auto"};

int scen_pool_mode_from_name(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(name, pool_modes[i]))
			return i;
	return -1;
}

const char *scen_pool_mode_name(enum scen_pool_mode m)
{
	return (unsigned)m < 3 ? pool_modes[m] : "?";
}

/* pool: its numbers, and mode (scen.yaml(5)). */
static int parse_pool(struct cfg_ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *m;
	char *mode = NULL;

	if (cfg_section(c, root, "pool", "pool", pool_fields, cfg, &m) < 0)
		return -1;
	cfg->pool.mode = SCEN_POOL_ONLINE;
	if (!m)
		return 0;
	if (cfg_get_str(c, m, "pool", "mode", &mode, "online") < 0)
		return -1;
	int k = scen_pool_mode_from_name(mode);
	free(mode);
	if (k < 0)
		return cfg_fail(c, cfg_get(c, m, "mode"), "'mode' in pool must "
				"be online, batch or auto");
	cfg->pool.mode = (enum scen_pool_mode)k;
	return 0;
}

static const struct cfg_field alerts_fields[] = {
	{"key_usage", F_NUM, 0.90, 0, 1, 1, CFG(alerts.key_usage)},
	{"hit_rate_min", F_NUM, 0.50, 0, 1, 0, CFG(alerts.hit_rate_min)},
	{"queue_wait_s", F_NUM, 10, 0, INF, 1, CFG(alerts.queue_wait_s)},
	{"error_rate", F_NUM, 0.05, 0, 1, 0, CFG(alerts.error_rate)},
	{"pool_min", F_LONG, 100, 0, INF, 0, CFG(alerts.pool_min)},
	{0}
};

static const struct cfg_field experiment_fields[] = {
	{.key = "system"}, {.key = "templates"}, {0}
};

/* ---- Provider, cache, fallback ---- */

static int parse_account(struct cfg_ctx *c, yaml_node_t *m, size_t i)
{
	struct scen_config *cfg = c->cfg;
	struct scen_account *a = &cfg->provider.accounts[i];
	yaml_node_t *name = m->type == YAML_MAPPING_NODE ?
			    cfg_get(c, m, "name") : NULL;
	const char *where = name && name->type == YAML_SCALAR_NODE ?
			    cfg_str(c, "account '%s'", cfg_sval(name)) :
			    cfg_str(c, "account %zu", i + 1);

	if (cfg_read_map(c, m, where, account_fields, a) < 0 ||
	    cfg_get_str(c, m, where, "name", &a->name, NULL) < 0)
		return -1;
	if (!cfg_valid_name(a->name, 0))
		return cfg_fail(c, name, "account name '%s' may hold only "
				"letters, digits, '_', '-' and '.'", a->name);
	for (size_t j = 0; j < i; j++)
		if (strcmp(cfg->provider.accounts[j].name, a->name) == 0)
			return cfg_fail(c, name, "duplicate account name '%s'",
					a->name);
	if (cfg_get_str(c, m, where, "api_key_env", &a->api_key_env,
			NULL) < 0)
		return -1;
	c->key_nodes[i] = cfg_get(c, m, "api_key_env");
	/* The value is never echoed: it might be the key itself. */
	if (!cfg_valid_name(a->api_key_env, 1) || strchr(a->api_key_env, '-'))
		return cfg_fail(c, c->key_nodes[i], "'api_key_env' in %s must "
				"be the name of an environment variable "
				"(letters, digits and '_'), not the key itself",
				where);
	return 0;
}

/* "HH:MM" or "HH:MMZ", UTC. */
static int parse_reset(struct cfg_ctx *c, yaml_node_t *prov)
{
	yaml_node_t *v = cfg_get(c, prov, "day_resets_at");
	const char *s = v && v->type == YAML_SCALAR_NODE ? cfg_sval(v) : "";
	size_t n = strlen(s);

	if (!v)
		return 0;
	if ((n == 5 || (n == 6 && s[5] == 'Z')) && s[2] == ':' &&
	    s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' &&
	    s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9' &&
	    (s[0] - '0') * 10 + (s[1] - '0') < 24) {
		c->cfg->provider.day_resets_min =
			((s[0] - '0') * 10 + (s[1] - '0')) * 60 +
			(s[3] - '0') * 10 + (s[4] - '0');
		return 0;
	}
	return cfg_fail(c, v, "'day_resets_at' in provider must be a UTC "
			"time \"HH:MM\" or \"HH:MMZ\"");
}

static int parse_accounts(struct cfg_ctx *c, yaml_node_t *p)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *seq = cfg_get(c, p, "accounts");
	size_t n;

	if (!seq)
		return cfg_fail(c, p, "missing 'accounts' in provider");
	if (cfg_need(c, seq, YAML_SEQUENCE_NODE, "'accounts' in provider") < 0)
		return -1;
	n = cfg_seq_len(seq);
	if (!n)
		return cfg_fail(c, seq, "'accounts' in provider must list at "
				"least one account");
	cfg->provider.accounts = xcalloc(n, sizeof *cfg->provider.accounts);
	cfg->provider.naccounts = n;
	c->key_nodes = xcalloc(n, sizeof *c->key_nodes);
	for (size_t i = 0; i < n; i++)
		if (parse_account(c, cfg_seq_at(c, seq, i), i) < 0)
			return -1;
	return 0;
}

static int parse_provider(struct cfg_ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *p = cfg_get(c, root, "provider"), *b;
	char *url;
	size_t n;

	if (!p)
		return cfg_fail(c, root, "missing 'provider' in the config");
	if (cfg_read_map(c, p, "provider", provider_fields, cfg) < 0 ||
	    cfg_get_str(c, p, "provider", "base_url", &cfg->provider.base_url,
			NULL) < 0)
		return -1;
	url = cfg->provider.base_url;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return cfg_fail(c, cfg_get(c, p, "base_url"), "'base_url' in "
				"provider must start with http:// or "
				"https://");
	n = strlen(url);
	while (n > 8 && url[n - 1] == '/')
		url[--n] = 0;
	if (cfg_get_str(c, p, "provider", "model", &cfg->provider.model,
			NULL) < 0 || parse_reset(c, p) < 0 ||
	    cfg_section(c, p, "breaker", "provider.breaker", breaker_fields,
			cfg, &b) < 0)
		return -1;
	return parse_accounts(c, p);
}

static int parse_cache(struct cfg_ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *m, *band, *v;

	if (cfg_section(c, root, "cache", "cache", cache_fields, cfg, &m) < 0)
		return -1;
	if (cfg->cache.relaxed > cfg->cache.strict) {
		v = cfg_get(c, m, "relaxed");
		return cfg_fail(c, v ? v : cfg_get(c, m, "strict"), "'relaxed' "
				"(%g) in cache must not exceed 'strict' (%g)",
				cfg->cache.relaxed, cfg->cache.strict);
	}
	cfg->cache.band_lo = 0.60;
	cfg->cache.band_hi = 0.70;
	band = m ? cfg_get(c, m, "hit_rate_band") : NULL;
	if (!band)
		return 0;
	if (band->type != YAML_SEQUENCE_NODE || cfg_seq_len(band) != 2)
		return cfg_fail(c, band, "'hit_rate_band' in cache must be a "
				"list [low, high]");
	for (size_t i = 0; i < 2; i++) {
		double *d = i ? &cfg->cache.band_hi : &cfg->cache.band_lo;

		v = cfg_seq_at(c, band, i);
		if (cfg_parse_num(v, d) < 0 || *d < 0 || *d > 1)
			return cfg_fail(c, v, "'hit_rate_band' in cache must "
					"hold numbers in [0, 1]");
	}
	if (cfg->cache.band_lo > cfg->cache.band_hi)
		return cfg_fail(c, v, "'hit_rate_band' in cache must be [low, "
				"high] with low <= high");
	return 0;
}

static int parse_fallback(struct cfg_ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *seq = cfg_get(c, root, "fallback");
	int seen[SCEN_TIER_COUNT] = {0};

	for (int i = 0; i < SCEN_TIER_COUNT; i++)
		cfg->fallback[i] = (enum scen_tier)i;
	cfg->nfallback = SCEN_TIER_COUNT;
	if (!seq)
		return 0;
	if (cfg_need(c, seq, YAML_SEQUENCE_NODE, "'fallback'") < 0)
		return -1;
	if (!cfg_seq_len(seq))
		return cfg_fail(c, seq, "'fallback' must list at least one "
				"tier");
	cfg->nfallback = 0;
	/* Four tiers at most: a fifth entry is always a repeat. */
	for (size_t i = 0; i < cfg_seq_len(seq); i++) {
		yaml_node_t *v = cfg_seq_at(c, seq, i);
		int t = v->type == YAML_SCALAR_NODE ?
			scen_tier_from_name(cfg_sval(v)) : -1;

		if (t < 0)
			return cfg_fail(c, v, "'fallback' entries must be "
					"tiers (cache, fresh, pool, relaxed)%s",
					v->type == YAML_SCALAR_NODE ?
					cfg_hint(c, cfg_sval(v), tier_names,
						 SCEN_TIER_COUNT) : "");
		if (seen[t]++)
			return cfg_fail(c, v, "tier '%s' appears twice in "
					"'fallback'", tier_names[t]);
		cfg->fallback[cfg->nfallback++] = (enum scen_tier)t;
	}
	return 0;
}

/* ---- Experiments ---- */

/* A non-empty mapping whose keys are names (experiments, templates). */
static int check_names(struct cfg_ctx *c, yaml_node_t *m, const char *what)
{
	if (m->type != YAML_MAPPING_NODE || !cfg_map_len(m))
		return cfg_fail(c, m, "%s must be a mapping with at least one "
				"entry, not %s", what, m->type ==
				YAML_MAPPING_NODE ? "an empty one" :
				cfg_kind(m));
	for (size_t i = 0; i < cfg_map_len(m); i++) {
		yaml_node_t *k = cfg_key_at(c, m, i, what);

		if (!k)
			return -1;
		if (!cfg_valid_name(cfg_sval(k), 0))
			return cfg_fail(c, k, "bad name '%s' in %s: names may "
					"hold only letters, digits, '_', '-' "
					"and '.'", cfg_sval(k), what);
	}
	return 0;
}

static int parse_experiment(struct cfg_ctx *c, yaml_node_t *v,
			    struct scen_experiment *e)
{
	const char *where = cfg_str(c, "experiment '%s'", e->name), *what;
	yaml_node_t *m, *sys;

	if (cfg_read_map(c, v, where, experiment_fields, e) < 0 ||
	    cfg_get_str(c, v, where, "system", &e->system, "") < 0)
		return -1;
	m = cfg_get(c, v, "templates");
	if (!m)
		return cfg_fail(c, v, "missing 'templates' in %s", where);
	what = cfg_str(c, "'templates' in %s", where);
	if (check_names(c, m, what) < 0)
		return -1;
	e->ntemplates = cfg_map_len(m);
	e->templates = xcalloc(e->ntemplates, sizeof *e->templates);
	for (size_t i = 0; i < e->ntemplates; i++) {
		e->templates[i].name = xstrdup(cfg_sval(cfg_key_of(c, m, i)));
		if (cfg_template_parse(c, cfg_val_of(c, m, i),
				       &e->templates[i]) < 0)
			return -1;
	}
	qsort(e->templates, e->ntemplates, sizeof *e->templates,
	      cfg_cmp_named);
	sys = cfg_get(c, v, "system");
	what = cfg_str(c, "the system text of %s", where);
	if (sys && cfg_check_text(c, sys, e->system, e->templates,
				  e->ntemplates, what) < 0)
		return -1;
	for (size_t i = 0; i < e->ntemplates; i++)
		if (cfg_check_used(c, cfg_get(c, m, e->templates[i].name),
				   &e->templates[i], e) < 0)
			return -1;
	return 0;
}

static int parse_experiments(struct cfg_ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *m = cfg_get(c, root, "experiments");

	if (!m)
		return cfg_fail(c, root, "missing 'experiments' in the config");
	if (check_names(c, m, "'experiments'") < 0)
		return -1;
	cfg->nexperiments = cfg_map_len(m);
	cfg->experiments = xcalloc(cfg->nexperiments, sizeof *cfg->experiments);
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		struct scen_experiment *e = &cfg->experiments[i];

		e->name = xstrdup(cfg_sval(cfg_key_of(c, m, i)));
		if (parse_experiment(c, cfg_val_of(c, m, i), e) < 0)
			return -1;
	}
	return 0;
}

static int parse_root(struct cfg_ctx *c)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *root = yaml_document_get_root_node(&c->doc), *m;
	const char *slash = strrchr(c->name, '/');
	char *db = NULL;

	if (!root)
		return scen_error("%s:1:1: the config is empty", c->name);
	if (cfg_read_map(c, root, "the config", top_fields, cfg) < 0 ||
	    cfg_get_str(c, root, "the config", "database", &db,
			"scen.db") < 0)
		return -1;
	/* Relative to the config's folder, so that every command finds the
	 * same database whatever its working directory (a URI names a
	 * server's) */
	if (db[0] != '/' && slash && !scen_is_db_uri(db)) {
		cfg->database = xasprintf("%.*s/%s", (int)(slash - c->name),
					  c->name, db);
		free(db);
	} else {
		cfg->database = db;
	}
	if (parse_provider(c, root) < 0 || parse_cache(c, root) < 0 ||
	    parse_fallback(c, root) < 0 ||
	    parse_pool(c, root) < 0 ||
	    cfg_section(c, root, "alerts", "alerts", alerts_fields, cfg,
			&m) < 0)
		return -1;
	return parse_experiments(c, root);
}

/* Experiments in name order, and each template's back pointer and
 * version, once everything was read. */
static void finish(struct scen_config *cfg)
{
	qsort(cfg->experiments, cfg->nexperiments, sizeof *cfg->experiments,
	      cfg_cmp_named);
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		struct scen_experiment *e = &cfg->experiments[i];

		for (size_t j = 0; j < e->ntemplates; j++) {
			e->templates[j].experiment = e;
			cfg_template_version(cfg, e, &e->templates[j]);
		}
	}
}

/* ---- Keys, loading ---- */

/* Reads each account's key; the values are never printed. */
static int read_keys(struct cfg_ctx *c, int require_keys)
{
	struct scen_config *cfg = c->cfg;
	size_t have = 0;

	for (size_t i = 0; i < cfg->provider.naccounts; i++) {
		struct scen_account *a = &cfg->provider.accounts[i];
		const char *v = getenv(a->api_key_env);

		if (v && *v) {
			a->key = xstrdup(v);
			have++;
		}
	}
	for (size_t i = 0; require_keys && i < cfg->provider.naccounts; i++) {
		struct scen_account *a = &cfg->provider.accounts[i];
		const yaml_node_t *n = c->key_nodes[i];
		const char *why = getenv(a->api_key_env) ? "is empty" :
				  "is not set";

		if (a->key)
			continue;
		if (!have)
			cfg_fail(c, n, "no API key: environment variable %s %s "
				 "(account %s)", a->api_key_env, why, a->name);
		else
			scen_warn("%s:%zu:%zu: environment variable %s %s: "
				  "account %s will not be used", c->name,
				  n->start_mark.line + 1,
				  n->start_mark.column + 1, a->api_key_env,
				  why, a->name);
	}
	return !require_keys || have ? 0 : -1;
}

struct scen_config *scen_config_parse(const char *name, const char *text,
				      size_t len, int flags)
{
	struct scen_config *cfg = xcalloc(1, sizeof *cfg);
	struct cfg_ctx c = {
		.cfg = cfg, .reading = !!(flags & SCEN_CONFIG_READER),
	};
	int rc;

	cfg->path = xstrdup(name);
	rc = cfg_open(&c, name, text, len);
	if (rc == 0)
		rc = parse_root(&c);
	if (rc == 0)
		rc = cfg_end(&c);
	if (rc == 0) {
		finish(cfg);
		rc = read_keys(&c, flags & SCEN_CONFIG_KEYS);
	}
	cfg_close(&c);
	if (rc < 0) {
		scen_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct scen_config *scen_config_load(const char *path, int flags)
{
	struct scen_config *cfg;
	struct strbuf sb;
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f) {
		scen_error("%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	sb_init(&sb);
	do {
		n = fread(buf, 1, sizeof buf, f);
		sb_add(&sb, buf, n);
	} while (n == sizeof buf);
	if (ferror(f)) {
		scen_error("%s: cannot read: %s", path, strerror(errno));
		fclose(f);
		sb_release(&sb);
		return NULL;
	}
	fclose(f);
	cfg = scen_config_parse(path, sb.buf, sb.len, flags);
	sb_release(&sb);
	return cfg;
}

void scen_config_free(struct scen_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		struct scen_experiment *e = &cfg->experiments[i];

		for (size_t j = 0; j < e->ntemplates; j++)
			cfg_template_release(&e->templates[j]);
		free(e->templates);
		free(e->name);
		free(e->system);
	}
	free(cfg->experiments);
	for (size_t i = 0; i < cfg->provider.naccounts; i++) {
		struct scen_account *a = &cfg->provider.accounts[i];

		if (a->key)	/* wipe the secret before giving it back */
			explicit_bzero(a->key, strlen(a->key));
		free(a->key);
		free(a->name);
		free(a->api_key_env);
	}
	free(cfg->provider.accounts);
	free(cfg->provider.base_url);
	free(cfg->provider.model);
	free(cfg->database);
	free(cfg->path);
	free(cfg);
}

/* ---- Lookups ---- */

struct scen_experiment *scen_config_experiment(const struct scen_config *cfg,
					       const char *name)
{
	struct scen_experiment key = {.name = (char *)name};

	if (!name || !cfg->nexperiments)
		return NULL;
	return bsearch(&key, cfg->experiments, cfg->nexperiments,
		       sizeof key, cfg_cmp_named);
}

struct scen_template *scen_experiment_template(const struct scen_experiment *e,
					       const char *name)
{
	struct scen_template key = {.name = (char *)name};

	if (!name || !e->ntemplates)
		return NULL;
	return bsearch(&key, e->templates, e->ntemplates, sizeof key,
		       cfg_cmp_named);
}
