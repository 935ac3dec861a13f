/* hash.c — open-addressing (linear probing) hash map keyed by byte strings,
 * hashed with XXH3; deletion shifts entries back (no tombstones). */
#include "scen/hash.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "scen/util.h"

uint64_t scen_hash64(const void *p, size_t n)
{
	uint64_t h = XXH3_64bits(p, n);
	return h ? h : 1;
}

void scen_map_init(struct scen_map *m)
{
	m->cap = 16;
	m->len = 0;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
}

void scen_map_release(struct scen_map *m)
{
	if (!m->slots)
		return;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key != (char *)&m->slots[i].inl)
			free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}

static struct scen_map_slot *find(const struct scen_map *m, uint64_t h,
				  const void *key, size_t klen)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct scen_map_slot *s = &m->slots[i];
		if (!s->hash)
			return s;
		if (s->hash == h && s->klen == klen &&
		    memcmp(s->key, key, klen) == 0)
			return s;
	}
}

uint64_t *scen_map_get(const struct scen_map *m, const void *key, size_t klen)
{
	struct scen_map_slot *s = find(m, scen_hash64(key, klen), key, klen);
	return s->hash ? &s->value : NULL;
}

static void grow(struct scen_map *m)
{
	struct scen_map_slot *old = m->slots;
	size_t oldcap = m->cap;
	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].hash)
			continue;
		struct scen_map_slot *s =
			find(m, old[i].hash, old[i].key, old[i].klen);
		*s = old[i];
		if (old[i].key == (char *)&old[i].inl)
			s->key = (char *)&s->inl;
	}
	free(old);
}

uint64_t *scen_map_put(struct scen_map *m, const void *key, size_t klen,
		       int *created)
{
	if ((m->len + 1) * 4 > m->cap * 3)
		grow(m);
	uint64_t h = scen_hash64(key, klen);
	struct scen_map_slot *s = find(m, h, key, klen);
	if (created)
		*created = !s->hash;
	if (!s->hash) {
		s->hash = h;
		s->key = klen <= sizeof s->inl ? (char *)&s->inl
					       : xmalloc(klen ? klen : 1);
		memcpy(s->key, key, klen);
		s->klen = (uint32_t)klen;
		s->value = 0;
		m->len++;
	}
	return &s->value;
}

void scen_map_del(struct scen_map *m, const void *key, size_t klen)
{
	struct scen_map_slot *s = find(m, scen_hash64(key, klen), key, klen);
	if (!s->hash)
		return;
	if (s->key != (char *)&s->inl)
		free(s->key);
	size_t mask = m->cap - 1;
	size_t i = (size_t)(s - m->slots);
	/* shift back every entry of the run that would no longer be found */
	for (size_t j = (i + 1) & mask; m->slots[j].hash; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		/* j's entry may move to i when home is not in (i, j] */
		int between = i <= j ? (home > i && home <= j)
				     : (home > i || home <= j);
		if (between)
			continue;
		m->slots[i] = m->slots[j];
		if (m->slots[j].key == (char *)&m->slots[j].inl)
			m->slots[i].key = (char *)&m->slots[i].inl;
		i = j;
	}
	memset(&m->slots[i], 0, sizeof m->slots[i]);
	m->len--;
}
