/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Client-IP session affinity, as Cilium's lb_affinity: a service whose slot 0 carries an
 * affinity timeout (backend_id of slot 0, in seconds, as Cilium's affinity_timeout union;
 * 0 = no affinity) sends a client's new connections to the backend it chose last, while
 * the client used it within the timeout and the backend is still one of the service's
 * slots (active). The client is the network namespace (netns cookie) at the socket layer,
 * as Cilium's socket LB keys it; per packet (NodePort) it is the source address. Entries:
 * lb_affinity (LRU), key = client + service id, value = backend id + last use in seconds
 * of CLOCK_MONOTONIC. Layout mirrored by libs/bpf/src/lb-codecs.ts. */
#ifndef CTS_LB_AFFINITY_H
#define CTS_LB_AFFINITY_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lb.h"

#define LB_AFFINITY_ENTRIES 65536
#define LB_AFFINITY_MAX_SLOTS 1024 /* slots walked to check the kept backend (SocketLb's weighted limit) */
#define LB_AFFINITY_NETNS 1 /* client_id is a netns cookie (else an IPv4 address) */

struct lb_affinity_key {
	__u64 client_id;
	__u16 rev_nat_index;
	__u8 kind;
	__u8 pad[5];
};

struct lb_affinity_val {
	__u64 last_used;
	__u32 backend_id;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_AFFINITY_ENTRIES);
	__type(key, struct lb_affinity_key);
	__type(value, struct lb_affinity_val);
} lb_affinity SEC(".maps");

static __always_inline __u64 lb_affinity_now(void)
{
	return bpf_ktime_get_ns() / 1000000000ULL;
}

/* The backend id the client keeps (0: none, expired, or no longer a slot of the service).
 * `services`/`key`/`slot_field`: the service map and a key of the frontend whose
 * backend_slot is walked to check that the backend still has a slot. */
static __always_inline __u32 lb_affinity_lookup(const struct lb_affinity_key *ak, const struct lb_service *svc,
						void *services, void *key, __u16 *slot_field)
{
	struct lb_affinity_val *v = bpf_map_lookup_elem(&lb_affinity, ak);
	__u64 now = lb_affinity_now();
	__u16 i;

	if (!v || now - v->last_used > svc->backend_id)
		return 0;
	for (i = 1; i <= LB_AFFINITY_MAX_SLOTS; i++) {
		struct lb_service *slot;

		if (i > svc->count)
			break;
		*slot_field = i;
		slot = bpf_map_lookup_elem(services, key);
		if (slot && slot->backend_id == v->backend_id) {
			v->last_used = now;
			return v->backend_id;
		}
	}
	return 0;
}

/* Records the client's choice. */
static __always_inline void lb_affinity_update(const struct lb_affinity_key *ak, __u32 backend_id)
{
	struct lb_affinity_val v = { .last_used = lb_affinity_now(), .backend_id = backend_id };

	bpf_map_update_elem(&lb_affinity, ak, &v, BPF_ANY);
}

#endif
