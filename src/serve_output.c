/* serve_output.c — the answers of scen-serve-stdin(1) and scen-gen(1): one
 * JSON line each, kept in input order when ordered, and written only after
 * the turn that decided them is committed. */
#include "scen/serve_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The slot of seq, made when needed (ordered mode). */
static struct out_slot *slot_of(struct server *s, uint64_t seq)
{
	size_t i = (size_t)(seq - s->slot_base);
	XGROW(s->slots, i + 1, s->capslots);
	while (s->nslots <= i)
		s->slots[s->nslots++].line = NULL;
	return &s->slots[i];
}

void serve_reserve_slot(struct server *s, uint64_t seq)
{
	if (s->o->ordered)
		slot_of(s, seq);
}

void serve_drop_answer(struct server *s, uint64_t seq)
{
	size_t i = (size_t)(seq - s->slot_base);
	if (s->o->ordered && i < s->nslots) {
		free(s->slots[i].line);
		s->slots[i].line = NULL;
	}
}

/* s->line is the final answer of request seq. */
static void emit_final(struct server *s, uint64_t seq)
{
	if (!s->o->ordered)
		sb_add(&s->out, s->line.buf, s->line.len);
	else
		slot_of(s, seq)->line = xstrndup(s->line.buf, s->line.len);
}

/* Ordered mode: moves the answered prefix to the output. */
static void release_ordered(struct server *s)
{
	size_t k = 0;
	while (k < s->nslots && s->slots[k].line) {
		sb_adds(&s->out, s->slots[k].line);
		free(s->slots[k].line);
		k++;
	}
	if (!k)
		return;
	memmove(s->slots, s->slots + k, (s->nslots - k) * sizeof *s->slots);
	s->nslots -= k;
	s->slot_base += k;
}

/*
 * The turn is committed: what it answered goes out. An answer is never
 * written before what it reports is recorded, so a reader never acts on
 * a serving that a crash would lose (scen-serve-stdin(1), DESCRIPTION).
 */
enum scen_err serve_write_out(struct server *s)
{
	if (s->o->ordered)
		release_ordered(s);
	if (!s->out.len)
		return SCEN_OK;
	if (fwrite(s->out.buf, 1, s->out.len, s->o->out) != s->out.len ||
	    fflush(s->o->out) != 0)
		return scen_fail(&s->err, SCEN_ERR_IO,
				 "cannot write the answers: %s",
				 strerror(errno));
	sb_reset(&s->out);
	return SCEN_OK;
}

/* An answer to rq starts with its id; a bad line whose id could not be
 * read is answered with id null and its line number, which no request's
 * id can be mistaken for (scen-serve-stdin(1), STANDARDS). */
static void line_start(struct server *s, const struct scen_request *rq,
		       const char *status)
{
	struct strbuf *l = &s->line;
	sb_reset(l);
	sb_addlit(l, "{\"id\":");
	if (rq->id)
		sb_add_json_str(l, rq->id, strlen(rq->id));
	else
		sb_addf(l, "null,\"line\":%ld", rq->lineno);
	sb_addlit(l, ",\"status\":\"");
	sb_adds(l, status);
	sb_addc(l, '"');
}

/* ,"key": then val (a JSON value already) */
static void line_json(struct server *s, const char *key, const char *val,
		      size_t len)
{
	sb_addlit(&s->line, ",\"");
	sb_adds(&s->line, key);
	sb_addlit(&s->line, "\":");
	sb_add(&s->line, val, len);
}

static void line_str(struct server *s, const char *key, const char *val)
{
	sb_addlit(&s->line, ",\"");
	sb_adds(&s->line, key);
	sb_addlit(&s->line, "\":");
	sb_add_json_str(&s->line, val, strlen(val));
}

/* A similarity rounded to 4 decimals, as sb_add_json_double writes it
 * ("1.0", "0.0", "0.875"), without printf for the usual range 0..1. */
static void add_similarity(struct strbuf *sb, double sim)
{
	double r = floor(sim * 10000 + 0.5);
	if (!(r >= 0 && r <= 10000)) {
		sb_add_json_double(sb, r / 10000);
		return;
	}
	int k = (int)r;
	if (k == 10000 || k == 0) {
		sb_add(sb, k ? "1.0" : "0.0", 3);
		return;
	}
	char d[6] = {'0', '.'};
	size_t n = 2;
	for (int div = 1000; k; div /= 10) {
		d[n++] = (char)('0' + k / div);
		k %= div;
	}
	sb_add(sb, d, n);
}

/* Ends s->line as p's final answer, and p with it. */
static void line_final(struct server *s, struct pend *p)
{
	sb_addlit(&s->line, "}\n");
	emit_final(s, p->seq);
	serve_finish(s, p);
}

void serve_answer_ok(struct server *s, struct pend *p, enum scen_tier tier,
		     double sim, const struct scen_cached *c, int counted)
{
	static const char *const tier_counter[SCEN_TIER_COUNT] = {
		"tier.cache", "tier.fresh", "tier.pool", "tier.relaxed",
	};
	const struct scen_scenario_row *r = &c->row;
	line_start(s, &p->rq, "ok");
	line_str(s, "tier", scen_tier_name(tier));
	line_str(s, "scenario_id", r->sid);
	sb_addlit(&s->line, ",\"similarity\":");
	add_similarity(&s->line, sim);
	line_json(s, "text", c->text_json, c->text_json_len);
	line_str(s, "experiment", p->rq.exp->name);
	line_str(s, "template", p->rq.tpl->name);
	line_json(s, "model", c->model_json, c->model_json_len);
	line_str(s, "generated_at", c->created_iso);
	line_final(s, p);
	s->st->ok++;
	s->st->by_tier[tier]++;
	/* counted as servings are: not scen-gen's, not a repeat delivery */
	if (counted) {
		scen_db_count(s->db, tier_counter[tier], 1);
		scen_db_count(s->db, "answer.ok", 1);
	}
}

void serve_answer_error(struct server *s, struct pend *p, const char *code,
			const char *msg)
{
	line_start(s, &p->rq, "error");
	line_str(s, "error", code);
	line_str(s, "message", msg);
	line_final(s, p);
	s->st->errors++;
	char name[64];
	snprintf(name, sizeof name, "error.%s", code);
	scen_db_count(s->db, name, 1);
}

static void unavailable_line(struct server *s, struct pend *p, long secs,
			     const char *jid)
{
	line_start(s, &p->rq, "unavailable");
	sb_addf(&s->line, ",\"retry_after_s\":%ld", secs);
	if (jid)
		line_str(s, "job", jid);
	line_str(s, "message", "Try again in a few minutes");
	line_final(s, p);
}

void serve_answer_unavailable(struct server *s, struct pend *p, long secs)
{
	unavailable_line(s, p, secs, NULL);
	s->st->unavailable++;
	scen_db_count(s->db, "answer.unavailable", 1);
}

void serve_answer_job_failed(struct server *s, struct pend *p,
			     const char *jid)
{
	unavailable_line(s, p, 60, jid);
}

void serve_answer_job(struct server *s, struct pend *p, const char *status,
		      const char *jid, const char *state)
{
	line_start(s, &p->rq, status);
	line_str(s, "job", jid);
	line_str(s, "state", state);
	line_final(s, p);
}

void serve_tell_generating(struct server *s, struct pend *p,
			   const char *jid)
{
	line_start(s, &p->rq, "generating");
	line_str(s, "job", jid);
	sb_adds(&s->line, "}\n");
	sb_add(&s->out, s->line.buf, s->line.len);
}
