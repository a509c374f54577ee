/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Traffic policy Local (Kubernetes' externalTrafficPolicy: Local, Cilium's
 * SVC_FLAG_EXT_LOCAL_SCOPE) for NodePort / ExternalIPs / LoadBalancer frontends served per
 * packet: a new connection goes only to a backend on this node (an address of the
 * `endpoints` map); with none, np4_new finds no backend and the packet is dropped as for a
 * service without backends (DROP_NO_SERVICE). Slot 0's flags2 carries LB_F2_LOCAL; the
 * socket LB (east-west) ignores it, as Cilium serves in-cluster clients every backend. The
 * flow hash picks among the local backends (the Maglev table is not used for them). */
#ifndef CTS_LB_LOCAL_H
#define CTS_LB_LOCAL_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lb.h"
#include "maps.h"

#define LB_F2_LOCAL 1
#define LB_LOCAL_MAX_SLOTS 1024 /* slots walked for local backends (SocketLb's weighted limit) */

static __always_inline int lb4_backend_is_local(__u32 backend_id)
{
	struct endpoint_key k = { .family = FAMILY_V4 };
	struct lb4_backend *be = bpf_map_lookup_elem(&lb4_backends, &backend_id);

	if (!be)
		return 0;
	__builtin_memcpy(k.addr, &be->address, 4);
	return bpf_map_lookup_elem(&endpoints, &k) != 0;
}

/* One slot of the walk for local backends (a bpf_loop callback: the verifier checks it once). */
struct lb4_local_walk {
	struct lb4_key key;
	__u32 count;
	__u32 n;    /* the n-th local slot (from 0) is wanted; ~0: count them */
	__u32 seen;
	__u32 found;
};

static long lb4_local_step(__u32 i, void *data)
{
	struct lb4_local_walk *w = data;
	struct lb_service *slot;

	if (i >= w->count)
		return 1;
	w->key.backend_slot = i + 1;
	slot = bpf_map_lookup_elem(&lb4_services, &w->key);
	if (!slot || !lb4_backend_is_local(slot->backend_id))
		return 0;
	if (w->seen == w->n) {
		w->found = slot->backend_id;
		return 1;
	}
	w->seen++;
	return 0;
}

/* A local backend of the service chosen by the flow hash; 0 when none is local. */
static __always_inline __u32 lb4_select_local(const struct lb4_key *key, const struct lb_service *svc, __u32 hash)
{
	struct lb4_local_walk w = { .key = *key, .count = svc->count, .n = ~0U };

	bpf_loop(LB_LOCAL_MAX_SLOTS, lb4_local_step, &w, 0);
	if (!w.seen)
		return 0;
	w.n = hash % w.seen;
	w.seen = 0;
	bpf_loop(LB_LOCAL_MAX_SLOTS, lb4_local_step, &w, 0);
	return w.found;
}

#endif
