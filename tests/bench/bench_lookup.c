/* bench_lookup — the similarity index at scale: lookup latency (p50, p99)
 * at 10k, 100k and 1M stored scenarios of one template, start-up time
 * (loading the index from the database) and memory per stored scenario. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scen/config.h"
#include "scen/db.h"
#include "scen/index.h"
#include "scen/request.h"

static const char yaml[] =
	"database: bench.db\n"
	"provider:\n"
	"  base_url: http://127.0.0.1:9/v1\n"
	"  model: m\n"
	"  accounts: [{name: a, api_key_env: BENCH_KEY}]\n"
	"cache: {max_serves: 50}\n"
	"experiments:\n"
	"  e:\n"
	"    templates:\n"
	"      t:\n"
	"        prompt: \"{g} {a} {tone} {position}\"\n"
	"        factors:\n"
	"          g: {levels: [female, male]}\n"
	"          a: {levels: [younger, older]}\n"
	"          tone: {levels: [neutral, warm, cold], weight: 1}\n"
	"        position: {min: 1, max: 10, weight: 1}\n";

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void random_request(const struct scen_config *cfg,
			   struct scen_request *rq)
{
	memset(rq, 0, sizeof *rq);
	rq->exp = &cfg->experiments[0];
	rq->tpl = &rq->exp->templates[0];
	for (size_t i = 0; i < rq->tpl->nfactors; i++)
		rq->levels[i] = (uint16_t)(rand() % rq->tpl->factors[i].nlevels);
	rq->position = 1 + rand() % 10;
	scen_request_keys(rq);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	setenv("BENCH_KEY", "x", 1);
	struct scen_config *cfg = scen_config_parse("bench.yaml", yaml,
						    sizeof yaml - 1, 0);
	if (!cfg)
		return 1;
	long sizes[] = {10000, 100000, 1000000};
	for (int k = 0; k < 3; k++) {
		long n = sizes[k];
		long before = rss_kb();
		struct scen_index *ix = scen_index_new(cfg);
		for (long i = 0; i < n; i++) {
			struct scen_request rq;
			random_request(cfg, &rq);
			struct scen_stored st = {
				.rowid = i + 1, .tpl = rq.tpl,
				.levels = rq.levels, .position = rq.position,
				.key = rq.key, .bucket = rq.bucket,
				.serves = (uint32_t)(rand() % 10),
				.created_at = 1e9,
			};
			scen_index_add(ix, &st);
		}
		long mem = rss_kb() - before;
		struct scen_session *sess = scen_index_session(ix, "p1");
		sess->loaded = 1;
		enum { M = 20000 };
		static double lat[M];
		int hits = 0;
		for (int i = 0; i < M; i++) {
			struct scen_request rq;
			struct scen_pick pk;
			random_request(cfg, &rq);
			enum scen_tier tier = i % 10 == 0 ? SCEN_TIER_RELAXED
							 : SCEN_TIER_CACHE;
			double t = now_s();
			hits += scen_index_pick(ix, &rq, tier, sess, 1e9 + 10,
						&pk);
			lat[i] = now_s() - t;
		}
		qsort(lat, M, sizeof lat[0], cmp);
		printf("index, %7ld stored: lookup p50 %.2f us, p99 %.2f us, "
		       "max %.1f us (%d of %d found); %.0f bytes a scenario\n",
		       n, lat[M / 2] * 1e6, lat[M * 99 / 100] * 1e6,
		       lat[M - 1] * 1e6, hits, M, mem * 1024.0 / n);
		scen_index_free(ix);
	}

	/* start-up: load 1M stored scenarios from the database */
	char path[] = "/tmp/scen-bench-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	unlink(path);
	struct scen_error oe;
	struct scen_db *db = scen_db_open(path, 0, &oe);
	if (!db)
		return 1;
	scen_db_begin(db);
	scen_db_register_templates(db, cfg);
	double t = now_s();
	for (long i = 0; i < 1000000; i++) {
		struct scen_request rq;
		random_request(cfg, &rq);
		struct scen_scenario s = {
			.rq = &rq, .text = "A stored scenario text.",
			.model = "m", .account = "a", .origin = "fresh",
			.finish_reason = "stop", .created_at = 1e9,
		};
		scen_db_insert_scenario(db, &s);
	}
	scen_db_commit(db);
	double fill = now_s() - t;
	scen_db_close(db);
	long before = rss_kb();
	t = now_s();
	db = scen_db_open(path, 0, &oe);
	struct scen_index *ix = scen_index_new(cfg);
	scen_db_load_index(db, cfg, ix);
	double load = now_s() - t;
	printf("start-up with %zu stored: %.2f s to open and load the index, "
	       "%.0f MB resident for it (storing them took %.1f s)\n",
	       scen_index_count(ix), load, (rss_kb() - before) / 1024.0,
	       fill);
	scen_index_free(ix);
	scen_db_close(db);
	char wal[64];
	unlink(path);
	snprintf(wal, sizeof wal, "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", path);
	unlink(wal);
	scen_config_free(cfg);
	return 0;
}
