/* hash.h — an open-addressing hash map from byte strings to 64-bit values,
 * used for sessions, cells, buckets and jobs. */
#ifndef SCEN_HASH_H
#define SCEN_HASH_H

#include <stddef.h>
#include <stdint.h>

struct scen_map_slot {
	uint64_t hash;	/* 0 = empty */
	char *key;	/* owned copy; points at inl for keys of 8 bytes or less */
	uint64_t inl;
	uint32_t klen;
	uint64_t value;
};

struct scen_map {
	struct scen_map_slot *slots;
	size_t cap, len;	/* cap is a power of two */
};

void scen_map_init(struct scen_map *m);
/* Frees the keys and slots (not what values point to). */
void scen_map_release(struct scen_map *m);
/* Returns a pointer to the value for key, or NULL. */
uint64_t *scen_map_get(const struct scen_map *m, const void *key, size_t klen);
/* Returns the value slot for key, inserting value 0 when missing (*created
 * set to 1 then, when created is not NULL). The pointer is valid until the
 * next insertion or deletion. */
uint64_t *scen_map_put(struct scen_map *m, const void *key, size_t klen,
		       int *created);
/* Removes key when present. */
void scen_map_del(struct scen_map *m, const void *key, size_t klen);
uint64_t scen_hash64(const void *p, size_t n);

#endif
