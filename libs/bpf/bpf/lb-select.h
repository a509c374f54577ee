/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Backend selection of the socket load balancer: random over the service's slots, or
 * Maglev consistent hashing over a per-service lookup table, as Cilium's
 * --bpf-lb-algorithm random|maglev. The agent writes the algorithm and the table size
 * into lb_config (slot 0) and, per service, an inner array of `maglev_table_size` backend
 * ids into lb4_maglev / lb6_maglev (hash of maps keyed by the rev-NAT index, as Cilium's
 * cilium_lb4_maglev). The flow key hashed is the socket's bound source address and port
 * with the frontend; a socket without a bound source port (the usual connect()) is
 * hashed by its socket cookie. A service whose table is missing falls back to random.
 * Layouts mirrored by libs/bpf/src/lb-codecs.ts. */
#ifndef CTS_LB_SELECT_H
#define CTS_LB_SELECT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lb.h"

#define LB_ALG_RANDOM 0
#define LB_ALG_MAGLEV 1

struct lb_config {
	__u32 algorithm;
	__u32 maglev_table_size;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_config);
} lb_config SEC(".maps");

/* Inner tables: arrays of backend ids; BPF_F_INNER_MAP lets their size be the agent's
 * --bpf-lb-maglev-table-size instead of this template's. */
struct lb_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

/* The outer Maglev map of one family: service id -> that service's table (one definition for v4 and v6). */
#define LB_MAGLEV_OUTER_MAP(name) \
	struct { \
		__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS); \
		__uint(max_entries, LB_MAX_SERVICES); \
		__type(key, __u16); \
		__type(value, __u32); \
		__array(values, struct lb_maglev_inner); \
	} name SEC(".maps")

LB_MAGLEV_OUTER_MAP(lb4_maglev);
LB_MAGLEV_OUTER_MAP(lb6_maglev);

static __always_inline __u32 lb_rol32(__u32 w, int s)
{
	return (w << s) | (w >> (32 - s));
}

/* Bob Jenkins' lookup3 final mix of three words (public domain), as jhash_3words. */
static __always_inline __u32 lb_hash_3words(__u32 a, __u32 b, __u32 c)
{
	a += 0xdeadbeef + 12;
	b += 0xdeadbeef + 12;
	c += 0xdeadbeef + 12;
	c ^= b; c -= lb_rol32(b, 14);
	a ^= c; a -= lb_rol32(c, 11);
	b ^= a; b -= lb_rol32(a, 25);
	c ^= b; c -= lb_rol32(b, 16);
	a ^= c; a -= lb_rol32(c, 4);
	b ^= a; b -= lb_rol32(a, 14);
	c ^= b; c -= lb_rol32(b, 24);
	return c;
}

/* The flow hash: bound source (address folded to 32 bits, port) and frontend, or the
 * socket cookie when no source port is bound yet. */
static __always_inline __u32 lb_flow_hash(struct bpf_sock_addr *ctx, __u32 saddr, __u32 daddr, __u32 dport, __u32 proto)
{
	struct bpf_sock *sk = ctx->sk;
	__u32 sport = sk ? sk->src_port : 0;

	if (!sport) {
		__u64 cookie = bpf_get_socket_cookie(ctx);

		saddr ^= (__u32)cookie;
		sport = (__u32)(cookie >> 32) ^ 0xffff0000;
	}
	return lb_hash_3words(saddr, daddr, (sport << 16 | (dport & 0xffff)) ^ (proto << 8) ^ sport);
}

/* The backend id of a service: Maglev when configured and the service has a table, else
 * a random slot. 0 when there is none. */
static __always_inline __u32 lb_select_backend(void *services, void *key, __u16 *slot_field, void *maglev,
					       const struct lb_service *svc, __u32 hash)
{
	__u32 zero = 0;
	struct lb_config *cfg = bpf_map_lookup_elem(&lb_config, &zero);
	struct lb_service *slot;

	if (cfg && cfg->algorithm == LB_ALG_MAGLEV && cfg->maglev_table_size) {
		__u16 rev = svc->rev_nat_index;
		void *table = bpf_map_lookup_elem(maglev, &rev);

		if (table) {
			__u32 idx = hash % cfg->maglev_table_size;
			__u32 *id = bpf_map_lookup_elem(table, &idx);

			if (id && *id)
				return *id;
		}
	}
	*slot_field = (bpf_get_prandom_u32() % svc->count) + 1;
	slot = bpf_map_lookup_elem(services, key);
	return slot ? slot->backend_id : 0;
}

#endif
