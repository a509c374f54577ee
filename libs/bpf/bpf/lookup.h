/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lookups in the shared maps: an endpoint's flags (ep_flags), a peer's identity
 * (ipcache), a local endpoint by address (endpoints), and the metrics counters. */
#ifndef CTS_LOOKUP_H
#define CTS_LOOKUP_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "config.h"
#include "parse.h"

static __always_inline __u32 ep_flags_of(__u16 ep)
{
	__u32 k = ep;
	__u32 *f = bpf_map_lookup_elem(&ep_flags, &k);

	/* Only an id beyond the array misses (ids are u16): enforce and look for denies. */
	if (!f)
		return EP_F_INGRESS_ENFORCED | EP_F_EGRESS_ENFORCED | EP_F_INGRESS_DENY | EP_F_EGRESS_DENY;
	return *f;
}

static __always_inline __u32 lookup_identity(const struct pkt *p, const __u8 *addr)
{
	struct ipcache_key k = {};
	struct ipcache_value *v;

	k.family = p->family;
	k.prefixlen = 32 + (p->family == FAMILY_V4 ? 32 : 128);
	__builtin_memcpy(k.addr, addr, 16);
	v = bpf_map_lookup_elem(&ipcache, &k);
	return v ? v->identity : WORLD_IDENTITY;
}

static __always_inline __u16 lookup_endpoint(const struct pkt *p, const __u8 *addr)
{
	struct endpoint_key k = {};
	struct endpoint_value *v;

	k.family = p->family;
	__builtin_memcpy(k.addr, addr, 16);
	v = bpf_map_lookup_elem(&endpoints, &k);
	return v ? v->endpoint_id : 0;
}

static __always_inline void count(__u8 reason, __u8 dir, __u32 len)
{
	__u32 k = METRICS_INDEX(reason, dir == DIR_EGRESS ? 2 : 1);
	struct metrics_value *v = bpf_map_lookup_elem(&metrics, &k);

	if (v) {
		v->packets += 1;
		v->bytes += len;
	}
}

#endif /* CTS_LOOKUP_H */
