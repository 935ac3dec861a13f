/* db_scenarios.c — the scenarios and their servings (db.h): the template
 * versions registered, the index loaded and caught up with other
 * processes, a scenario stored and read back only when sound, servings
 * recorded, and a spool's records replayed once. */
#include "scen/db_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_strs(struct strbuf *sb, char **v, size_t n)
{
	sb_addc(sb, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_addc(sb, ',');
		sb_add_json_str(sb, v[i], strlen(v[i]));
	}
	sb_addc(sb, ']');
}

/* The validate rules of t as the JSON that templates.validate holds. */
static void validate_json(struct strbuf *sb, const struct scen_template *t)
{
	sb_reset(sb);
	sb_addf(sb, "{\"min_chars\":%ld,\"max_chars\":%ld,\"reject\":",
		t->validate.min_chars, t->validate.max_chars);
	json_strs(sb, t->validate.reject, t->validate.nreject);
	sb_addc(sb, '}');
}

/* The factors of t as templates.factors holds them. */
static void factors_json(struct strbuf *sb, const struct scen_template *t)
{
	sb_reset(sb);
	sb_addc(sb, '{');
	for (size_t k = 0; k < t->nfactors; k++) {
		const struct scen_factor *fa = &t->factors[k];
		if (k)
			sb_addc(sb, ',');
		sb_add_json_str(sb, fa->name, strlen(fa->name));
		sb_adds(sb, ":{\"levels\":");
		json_strs(sb, fa->levels, fa->nlevels);
		if (fa->soft) {
			sb_adds(sb, ",\"weight\":");
			sb_add_json_double(sb, fa->weight);
		}
		sb_addc(sb, '}');
	}
	sb_addc(sb, '}');
}

/* The position of t as templates.position holds it; empty when t
 * declares none. */
static void position_json(struct strbuf *sb, const struct scen_template *t)
{
	sb_reset(sb);
	if (!t->position.declared)
		return;
	sb_addf(sb, "{\"min\":%ld,\"max\":%ld", t->position.min,
		t->position.max);
	if (t->position.soft) {
		sb_adds(sb, ",\"weight\":");
		sb_add_json_double(sb, t->position.weight);
	}
	sb_addc(sb, '}');
}

/* Binds and runs ST_TEMPLATE for template t of experiment e. */
static int register_one(struct scen_db *db, struct db_stmt *st,
			const struct scen_config *cfg,
			const struct scen_experiment *e,
			const struct scen_template *t, struct strbuf json[3])
{
	validate_json(&json[0], t);
	factors_json(&json[1], t);
	position_json(&json[2], t);
	db_bind_text(st, 1, t->version_hex, -1);
	db_bind_text(st, 2, e->name, -1);
	db_bind_text(st, 3, t->name, -1);
	db_bind_text(st, 4, e->system, -1);
	db_bind_text(st, 5, t->prompt, -1);
	db_bind_text(st, 6, cfg->provider.model, -1);
	db_bind_double(st, 7, cfg->provider.temperature);
	db_bind_int64(st, 8, cfg->provider.max_tokens);
	db_bind_text(st, 9, json[0].buf, -1);
	db_bind_text(st, 10, json[1].buf, -1);
	db_bind_text_or_null(st, 11, json[2].len ? json[2].buf : NULL);
	db_bind_double(st, 12, scen_now());
	return db_run(db, st);
}

int scen_db_register_templates(struct scen_db *db,
			       const struct scen_config *cfg)
{
	struct db_stmt *st = db_stmt(db, ST_TEMPLATE);
	if (!st)
		return -1;
	struct strbuf json[3];	/* validate, factors, position */
	for (int i = 0; i < 3; i++)
		sb_init(&json[i]);
	int rc = 0;
	for (size_t i = 0; i < cfg->nexperiments && !rc; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		for (size_t j = 0; j < e->ntemplates && !rc; j++)
			rc = register_one(db, st, cfg, e, &e->templates[j],
					  json);
	}
	for (int i = 0; i < 3; i++)
		sb_release(&json[i]);
	return rc;
}

int scen_db_template_known(struct scen_db *db, const char *experiment,
			   const char *template_name)
{
	struct db_stmt *st = db_stmt(db, ST_TEMPLATE_KNOWN);
	if (!st)
		return -1;
	db_bind_text_or_null(st, 1, experiment);
	db_bind_text_or_null(st, 2, template_name);
	int r = db_step(st);
	int known = r == DB_ROW && (int)db_column_int64(st, 0);
	db_reset(st);
	if (r != DB_ROW)
		return db_fail(db, "cannot read the templates");
	return known;
}

static int parse_levels_json(const struct scen_template *t, const char *json,
			     uint16_t *levels)
{
	json_t *o = json_loads(json, 0, NULL);
	int rc = o && json_is_object(o) ? 0 : -1;
	for (size_t i = 0; i < t->nfactors && !rc; i++) {
		json_t *v = json_object_get(o, t->factors[i].name);
		int li = json_is_string(v)
			? scen_factor_level(&t->factors[i], json_string_value(v))
			: -1;
		if (li < 0)
			rc = -1;
		else
			levels[i] = (uint16_t)li;
	}
	json_decref(o);
	return rc;
}

/* Level indices of a stored factors object for template t; -1 when a
 * factor or level is no longer declared (the row cannot match). */
static int parse_levels(const struct scen_template *t, const char *json,
			uint16_t *levels)
{
	/* The stored form is the canonical {"name":"level",...} written by
	 * scen_request_factors_json, sorted by name like t->factors. Without
	 * escapes it is read in place; with them, by the JSON parser. */
	if (strchr(json, '\\'))
		return parse_levels_json(t, json, levels);
	const char *p = json;
	for (size_t i = 0; i < t->nfactors; i++) {
		const char *k = strchr(p, '"');
		if (!k)
			return -1;
		const char *ke = strchr(k + 1, '"');
		if (!ke)
			return -1;
		const char *vs = strchr(ke + 1, '"');
		if (!vs)
			return -1;
		/* levels never hold quotes or backslashes in practice; when
		 * one does, the row is matched by key only (exact tier) */
		const char *ve = strchr(vs + 1, '"');
		if (!ve)
			return -1;
		const struct scen_factor *f = &t->factors[i];
		if ((size_t)(ke - k - 1) != strlen(f->name) ||
		    memcmp(k + 1, f->name, (size_t)(ke - k - 1)))
			return -1;
		char lv[256];
		size_t n = (size_t)(ve - vs - 1);
		if (n >= sizeof lv)
			return -1;
		memcpy(lv, vs + 1, n);
		lv[n] = 0;
		int li = scen_factor_level(f, lv);
		if (li < 0)
			return -1;
		levels[i] = (uint16_t)li;
		p = ve + 1;
	}
	return 0;
}

/* The request a stored row was made for, from its factors (column col)
 * and position (col + 1), with its keys; -1 when its factors are not t's. */
static int row_request(struct db_stmt *st, int col,
		       const struct scen_template *t, struct scen_request *rq)
{
	memset(rq, 0, sizeof *rq);
	rq->exp = t->experiment;
	rq->tpl = t;
	const char *factors = db_column_text(st, col);
	if (!factors || parse_levels(t, factors, rq->levels) < 0)
		return -1;
	rq->position = (long)db_column_int64(st, col + 1);
	scen_request_keys(rq);
	return 0;
}

/* Adds one row of ST_LOAD/ST_NEW_SCN (columns id, key, factors, position,
 * serves, origin, created_at) of template t to ix. */
static void add_row(struct db_stmt *st, const struct scen_template *t,
		    struct scen_index *ix)
{
	if (db_column_bytes(st, 1) != 16)
		return;
	const uint8_t *key = db_column_blob(st, 1);
	int64_t rowid = db_column_int64(st, 0);
	uint32_t serves = (uint32_t)db_column_int64(st, 4);
	int pool = !strcmp(db_column_text(st, 5), "pool");
	double created = db_column_double(st, 6);
	if (scen_index_add_to_cell(ix, key, rowid, serves, pool, created))
		return;
	/* the first row of its cell: read its factors, check its key */
	struct scen_request rq;
	if (row_request(st, 2, t, &rq) < 0 || memcmp(key, rq.key, 16) != 0)
		return;	/* stored under another key: not ours to serve */
	struct scen_stored s = {
		.rowid = rowid,
		.tpl = t,
		.levels = rq.levels,
		.position = rq.position,
		.key = rq.key,
		.bucket = rq.bucket,
		.serves = serves,
		.pool = pool,
		.created_at = created,
	};
	scen_index_add(ix, &s);
}

int scen_db_load_index(struct scen_db *db, const struct scen_config *cfg,
		       struct scen_index *ix)
{
	struct db_stmt *st = db_stmt(db, ST_LOAD);
	if (!st)
		return -1;
	/* the marks first: rows committed while loading are caught up */
	db->seen_scn = db_int(db, ST_MAX_SCN);
	db->seen_serving = db_int(db, ST_MAX_SERVING);
	int rc = 0;
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		for (size_t j = 0; j < e->ntemplates; j++) {
			const struct scen_template *t = &e->templates[j];
			db_bind_text(st, 1, t->version_hex, -1);
			int r;
			while ((r = db_step(st)) == DB_ROW) {
				if (db_column_int64(st, 0) <= db->seen_scn)
					add_row(st, t, ix);
			}
			if (r != DB_DONE)
				rc = db_fail(db, "loading scenarios");
			db_reset(st);
		}
	}
	return rc;
}

/* The template of cfg whose version is hex, or NULL. */
static const struct scen_template *template_of(const struct scen_config *cfg,
					       const char *hex)
{
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		for (size_t j = 0; j < e->ntemplates; j++)
			if (!strcmp(e->templates[j].version_hex, hex))
				return &e->templates[j];
	}
	return NULL;
}

/*
 * Servings first, then scenarios: a new scenario's serves column already
 * counts every serving committed with it, so the servings read here are
 * applied only to the scenarios the index held before (scen_index_served
 * ignores the others). Taken the other way round, a scenario stored and
 * served by another process since the last call was counted twice, and
 * could look spent to this one.
 */
int scen_db_catch_up(struct scen_db *db, const struct scen_config *cfg,
		     struct scen_index *ix)
{
	struct db_stmt *st = db_stmt(db, ST_NEW_SERVINGS);
	if (!st)
		return -1;
	db_bind_int64(st, 1, db->seen_serving);
	int r;
	while ((r = db_step(st)) == DB_ROW) {
		db->seen_serving = db_column_int64(st, 0);
		int64_t scn = db_column_int64(st, 2);
		scen_index_served(ix, scn);
		const char *sess = db_column_text(st, 1);
		struct scen_session *s = scen_index_session(ix, sess);
		if (s->loaded)
			scen_session_add(s, scn);
	}
	db_reset(st);
	if (r != DB_DONE)
		return db_fail(db, "reading new servings");
	st = db_stmt(db, ST_NEW_SCN);
	if (!st)
		return -1;
	db_bind_int64(st, 1, db->seen_scn);
	while ((r = db_step(st)) == DB_ROW) {
		db->seen_scn = db_column_int64(st, 0);
		const struct scen_template *t =
			template_of(cfg, db_column_text(st, 7));
		if (t)
			add_row(st, t, ix);
	}
	db_reset(st);
	if (r != DB_DONE)
		return db_fail(db, "reading new scenarios");
	return 0;
}

int scen_db_session_load(struct scen_db *db, const char *session,
			 struct scen_session *s)
{
	return s->loaded ? 0 : scen_db_sessions_load(db, &session, &s, 1);
}

int scen_db_sessions_load(struct scen_db *db, const char *const *names,
			  struct scen_session **ss, size_t n)
{
	struct db_stmt *st = db_stmt(db, ST_SESSIONS);
	if (!st)
		return -1;
	struct scen_map ix;
	scen_map_init(&ix);
	struct strbuf *sb = &db->sb;
	sb_reset(sb);
	sb_addc(sb, '[');
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		*scen_map_put(&ix, names[i], len, NULL) = i;
		if (i)
			sb_addc(sb, ',');
		sb_add_json_str(sb, names[i], len);
	}
	sb_addc(sb, ']');
	db_bind_text(st, 1, sb->buf, (int)sb->len);
	int r;
	while ((r = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 0);
		uint64_t *i = name ? scen_map_get(&ix, name, strlen(name))
				   : NULL;
		if (i)
			scen_session_add(ss[*i], db_column_int64(st, 1));
	}
	db_reset(st);
	scen_map_release(&ix);
	if (r != DB_DONE)
		return db_fail(db, "reading sessions");
	for (size_t i = 0; i < n; i++)
		ss[i]->loaded = 1;
	return 0;
}

int scen_db_insert_scenario(struct scen_db *db, struct scen_scenario *s)
{
	const struct scen_request *rq = s->rq;
	if (s->job) {
		struct db_stmt *q = db_stmt(db, ST_SCN_BY_JOB);
		if (!q)
			return -1;
		db_bind_int64(q, 1, s->job);
		if (db_step(q) == DB_ROW) {
			s->rowid = db_column_int64(q, 0);
			snprintf(s->sid, sizeof s->sid, "%s",
				 db_column_text(q, 1));
			db_reset(q);
			return 1;
		}
		db_reset(q);
	}
	struct db_stmt *st = db_stmt(db, ST_INSERT_SCN);
	if (!st)
		return -1;
	snprintf(s->sid, sizeof s->sid, "sc-%016llx",
		 (unsigned long long)scen_random64());
	char ph[17];
	snprintf(ph, sizeof ph, "%016llx",
		 (unsigned long long)scen_hash64(rq->key, 16));
	db_bind_text(st, 1, s->sid, -1);
	db_bind_request(db, st, 2, rq);
	db_bind_text(st, 8, s->text, -1);
	db_bind_text(st, 9, s->model, -1);
	db_bind_text_or_null(st, 10, s->account);
	db_bind_text(st, 11, ph, -1);
	db_bind_text(st, 12, s->origin, -1);
	db_bind_text_or_null(st, 13, s->finish_reason);
	db_bind_int64(st, 14, s->prompt_tokens);
	db_bind_int64(st, 15, s->completion_tokens);
	db_bind_double(st, 16, s->created_at);
	db_bind_int64_if(st, 17, s->job != 0, s->job);
	db_bind_int64(st, 18, db_text_hash(rq->key, 16, s->text,
					   strlen(s->text)));
	db_bind_text_or_null(st, 19, s->batch_id);
	db_bind_text_or_null(st, 20, s->custom_id);
	if ((s->rowid = db_insert_id(db, st)) < 0)
		return -1;
	XGROW(db->tx_scn, db->ntx_scn + 1, db->captx_scn);
	db->tx_scn[db->ntx_scn++] = s->rowid;
	db->seen_scn = s->rowid;
	return 0;
}

/* Copies column i into buf (n bytes, truncating, NUL-terminated). */
static void col_copy(struct db_stmt *st, int i, char *buf, size_t n)
{
	const char *s = db_column_text(st, i);
	size_t len = s ? (size_t)db_column_bytes(st, i) : 0;
	if (len >= n)
		len = n - 1;
	if (len)
		memcpy(buf, s, len);
	buf[len] = 0;
}

/* Why row st (of ST_GET_SCN) is not a sound scenario of template t, or
 * NULL when it is; fills out's levels and position. */
static const char *row_damage(struct db_stmt *st, const struct scen_template *t,
			      struct scen_scenario_row *out)
{
	const char *version = db_column_text(st, 6);
	if (!version || strcmp(version, t->version_hex))
		return "not of the template version it is indexed under";
	const uint8_t *key = db_column_blob(st, 7);
	if (!key || db_column_bytes(st, 7) != 16)
		return "its key is damaged";
	const char *text = db_column_text(st, 1);
	if (!text)
		return "its text is missing";
	if (db_column_type(st, 10) != DB_NULL &&
	    db_column_int64(st, 10) !=
		    db_text_hash(key, 16, text,
				 (size_t)db_column_bytes(st, 1)))
		return "its text does not match its checksum";
	struct scen_request rq;
	if (row_request(st, 8, t, &rq) < 0)
		return "its factors are not the template's";
	if (memcmp(rq.key, key, 16))
		return "its factors do not give its key";
	memcpy(out->levels, rq.levels, sizeof out->levels);
	out->position = rq.position;
	return NULL;
}

enum scen_err scen_db_scenario_get(struct scen_db *db, int64_t rowid,
				   const struct scen_template *t,
				   struct scen_scenario_row *out)
{
	memset(out, 0, sizeof *out);
	struct db_stmt *st = db_stmt(db, ST_GET_SCN);
	if (!st)
		return SCEN_ERR_IO;
	db_bind_int64(st, 1, rowid);
	int r = db_step(st);
	if (r != DB_ROW) {
		db_reset(st);
		if (r == DB_DONE) {
			scen_error("%s: scenario %lld is missing", db->path,
				   (long long)rowid);
			return SCEN_ERR_DAMAGED;
		}
		db_fail(db, "reading a scenario");
		return SCEN_ERR_IO;
	}
	col_copy(st, 0, out->sid, sizeof out->sid);
	const char *why = row_damage(st, t, out);
	if (why) {
		scen_error("%s: scenario %s (row %lld) is damaged: %s; it is "
			   "not served", db->path, out->sid,
			   (long long)rowid, why);
		db_reset(st);
		return SCEN_ERR_DAMAGED;
	}
	out->text = xstrndup(db_column_text(st, 1),
			     (size_t)db_column_bytes(st, 1));
	col_copy(st, 2, out->model, sizeof out->model);
	col_copy(st, 3, out->account, sizeof out->account);
	out->created_at = db_column_double(st, 4);
	col_copy(st, 5, out->origin, sizeof out->origin);
	db_reset(st);
	return SCEN_OK;
}

/* Stores serving r of scenario row scn and notes it for catch-up (the
 * scenario's count is the caller's). */
static int put_serving(struct scen_db *db, const struct scen_spooled *r,
		       int64_t scn)
{
	struct db_stmt *st = db_stmt(db, ST_INSERT_SERVING);
	if (!st)
		return -1;
	db_bind_text(st, 1, r->request_id, -1);
	db_bind_text(st, 2, r->session, -1);
	db_bind_text(st, 3, r->experiment, -1);
	db_bind_text(st, 4, r->template_name, -1);
	db_bind_text(st, 5, r->version, -1);
	db_bind_text(st, 6, r->factors, -1);
	db_bind_int64_if(st, 7, r->has_position, r->position);
	db_bind_text(st, 8, r->tier, -1);
	db_bind_double(st, 9, r->similarity);
	db_bind_int64(st, 10, scn);
	db_bind_text_or_null(st, 11, r->account);
	db_bind_double(st, 12, r->latency_ms);
	db_bind_double(st, 13, r->served_at);
	db_bind_int64(st, 14, r->forced_fresh);
	if (db_run(db, st) < 0)
		return -1;
	/* seen_serving moves past it at commit */
	db->wrote_servings = 1;
	return 0;
}

const int64_t *scen_db_tx_scenarios(const struct scen_db *db, size_t *n)
{
	*n = db->ntx_scn;
	return db->tx_scn;
}

int scen_db_insert_serving(struct scen_db *db, const struct scen_serving *s)
{
	const struct scen_request *rq = s->rq;
	struct strbuf *sb = &db->sb;
	sb_reset(sb);
	scen_request_factors_json(rq, sb);
	struct scen_spooled r = {
		.request_id = rq->id,
		.session = rq->session ? rq->session : "",
		.experiment = rq->exp->name,
		.template_name = rq->tpl->name,
		.version = rq->tpl->version_hex,
		.factors = sb->buf,
		.has_position = rq->tpl->position.declared,
		.position = rq->position,
		.tier = s->tier,
		.similarity = s->similarity,
		.account = s->account,
		.latency_ms = s->latency_ms,
		.served_at = s->served_at,
		.forced_fresh = s->forced_fresh,
	};
	if (put_serving(db, &r, s->scenario) < 0)
		return -1;
	*scen_map_put(&db->served, &s->scenario, sizeof s->scenario, NULL) += 1;
	return 0;
}

/* Marks uid replayed: 1 when new, 0 when it was, -1 on error. */
static int spool_mark(struct scen_db *db, const char *uid)
{
	struct db_stmt *st = db_stmt(db, ST_SPOOL_MARK);
	if (!st)
		return -1;
	db_bind_text(st, 1, uid, -1);
	db_bind_double(st, 2, scen_now());
	int r = db_next(st);
	db_reset(st);
	return r < 0 ? -1 : r == DB_ROW;
}

enum scen_err scen_db_replay_serving(struct scen_db *db, const char *uid,
				     const struct scen_spooled *r, int *added)
{
	struct db_stmt *q = db_stmt(db, ST_SCN_BY_SID);
	struct db_stmt *up = db_stmt(db, ST_SERVED);
	*added = 0;
	if (!q || !up)
		return SCEN_ERR_IO;
	db_bind_text(q, 1, r->scenario_sid, -1);
	int rc = db_step(q);
	int64_t scn = rc == DB_ROW ? db_column_int64(q, 0) : 0;
	db_reset(q);
	if (rc != DB_ROW && rc != DB_DONE) {
		db_fail(db, "finding a spooled serving's scenario");
		return SCEN_ERR_IO;
	}
	if (!scn)
		return SCEN_ERR_DAMAGED;
	int fresh = spool_mark(db, uid);
	if (fresh <= 0)
		return fresh < 0 ? SCEN_ERR_IO : SCEN_OK;
	if (put_serving(db, r, scn) < 0)
		return SCEN_ERR_IO;
	db_bind_int64(up, 1, scn);
	db_bind_int64(up, 2, 1);
	if (db_run(db, up) < 0)
		return SCEN_ERR_IO;
	*added = 1;
	return SCEN_OK;
}

enum scen_err scen_db_replay_count(struct scen_db *db, const char *uid,
				   int64_t hour, const char *name, long n,
				   int *added)
{
	struct db_stmt *st = db_stmt(db, ST_COUNTER);
	*added = 0;
	if (!st)
		return SCEN_ERR_IO;
	int fresh = spool_mark(db, uid);
	if (fresh <= 0)
		return fresh < 0 ? SCEN_ERR_IO : SCEN_OK;
	db_bind_int64(st, 1, hour);
	db_bind_text(st, 2, name, -1);
	db_bind_int64(st, 3, n);
	if (db_run(db, st) < 0)
		return SCEN_ERR_IO;
	*added = 1;
	return SCEN_OK;
}
