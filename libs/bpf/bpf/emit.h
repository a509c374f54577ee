/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Event emission into the `events` ring buffer: trace / drop / policy-verdict records
 * (emit, emit_for, drop) and debug messages (emit_debug, debug_ct), with lost records
 * counted in events_lost. The record layout is events.h's. */
#ifndef CTS_EMIT_H
#define CTS_EMIT_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "events.h"
#include "config.h"
#include "lookup.h"
#include "parse.h"
#include "conntrack.h"

struct event_meta {
	__u8 type;
	__u8 sub_type;
	__u8 flags;
	__u8 proto;
	__u8 match_type;
	__u16 port;
	__u16 dst_endpoint;
	__u16 drop_reason; /* policy verdicts: the drop reason when denied */
	__u32 src_identity;
	__u32 dst_identity;
	__u32 ifindex; /* 0: the skb's interface */
};

static __always_inline void emit(struct __sk_buff *skb, const struct event_meta *m)
{
	struct event_record *e;
	__u32 len = skb->len;
	__u32 zero = 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__u64 *lost = bpf_map_lookup_elem(&events_lost, &zero);

		if (lost)
			*lost += 1;
		return;
	}
	e->type = m->type;
	e->sub_type = m->sub_type;
	e->source = (__u16)CONFIG.endpoint_id;
	e->hash = 0;
	e->orig_len = len;
	e->version = EVENT_VERSION;
	e->flags = m->flags;
	e->src_identity = m->src_identity;
	e->dst_identity = m->dst_identity;
	e->dst_endpoint = m->dst_endpoint;
	e->matched_port = m->port;
	e->matched_proto = m->proto;
	e->match_type = m->match_type;
	e->drop_reason = m->drop_reason;
	e->ifindex = m->ifindex ? m->ifindex : skb->ifindex;
	e->reserved2 = 0;
	e->ktime_ns = bpf_ktime_get_ns();
	if (len >= EVENT_CAP_LEN) {
		if (bpf_skb_load_bytes(skb, 0, e->data, EVENT_CAP_LEN) < 0)
			len = 0;
		else
			len = EVENT_CAP_LEN;
	} else {
		len &= EVENT_CAP_LEN - 1;
		if (len == 0 || bpf_skb_load_bytes(skb, 0, e->data, len) < 0)
			len = 0;
	}
	e->cap_len = len;
	bpf_ringbuf_submit(e, 0);
}

/* An address as a number (a.b.c.d = a << 24 | ... | d): IPv4, or the last 32 bits of
 * IPv6, as Cilium's debug messages carry them. */
static __always_inline __u32 addr32(const __u8 *addr, __u8 family)
{
	__u32 w;

	__builtin_memcpy(&w, addr + (family == FAMILY_V6 ? 12 : 0), 4);
	return __builtin_bswap32(w);
}

/* A debug message (EVENT_TYPE_DEBUG, Cilium's cilium_dbg) with the direction / family /
 * reply bits of m. Only for endpoints with EP_F_DEBUG: callers test that bit of the
 * ep_flags word they read anyway, so other endpoints pay nothing. */
static __always_inline void emit_debug(struct __sk_buff *skb, const struct event_meta *m, __u8 code, __u32 arg1,
				       __u32 arg2, __u32 arg3)
{
	struct debug_record *e;
	__u32 zero = 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__u64 *lost = bpf_map_lookup_elem(&events_lost, &zero);

		if (lost)
			*lost += 1;
		return;
	}
	e->type = EVENT_TYPE_DEBUG;
	e->sub_type = code;
	e->source = (__u16)CONFIG.endpoint_id;
	e->hash = bpf_get_hash_recalc(skb);
	e->orig_len = skb->len;
	e->cap_len = 0;
	e->version = EVENT_VERSION;
	e->flags = m->flags & (EVENT_F_REPLY | EVENT_F_EGRESS | EVENT_F_IPV6);
	e->arg1 = arg1;
	e->arg2 = arg2;
	e->arg3 = arg3;
	e->reserved0 = 0;
	e->ifindex = m->ifindex ? m->ifindex : skb->ifindex;
	e->reserved2 = 0;
	e->ktime_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
}

/* Debug messages of a CT lookup: the tuple (LOOKUP_1: saddr, daddr, sport << 16 | dport),
 * protocol / direction / result (LOOKUP_2: proto, dir, CT_* state), and for a hit
 * DBG_CT_MATCH (state, the peer identity recorded in the entry). */
static __always_inline void debug_ct(struct __sk_buff *skb, const struct event_meta *m, const struct pkt *p, __u8 dir,
				     int state, __u32 peer)
{
	__u8 v6 = p->family == FAMILY_V6;

	emit_debug(skb, m, v6 ? DBG_CT_LOOKUP6_1 : DBG_CT_LOOKUP4_1, addr32(p->saddr, p->family),
		   addr32(p->daddr, p->family), ((__u32)p->sport << 16) | p->dport);
	emit_debug(skb, m, v6 ? DBG_CT_LOOKUP6_2 : DBG_CT_LOOKUP4_2, p->proto, dir, state);
	if (state != CT_NEW)
		emit_debug(skb, m, DBG_CT_MATCH, state, peer, 0);
}

/* Emits m; egress events name the destination's local endpoint, looked up only here
 * so that packets without an event skip the lookup. */
static __always_inline void emit_for(struct __sk_buff *skb, struct event_meta *m, const struct pkt *p, __u8 egress)
{
	if (egress && !m->dst_endpoint)
		m->dst_endpoint = lookup_endpoint(p, p->daddr);
	emit(skb, m);
}

static __always_inline int drop(struct __sk_buff *skb, struct event_meta *m, const struct pkt *p, __u8 reason,
				__u8 dir)
{
	m->type = EVENT_TYPE_DROP;
	m->sub_type = reason;
	emit_for(skb, m, p, dir == DIR_EGRESS);
	count(reason, dir, skb->len);
	return TC_ACT_SHOT;
}

static __always_inline void set_peer(struct event_meta *m, __u32 peer, __u8 egress)
{
	if (egress)
		m->dst_identity = peer;
	else
		m->src_identity = peer;
}

#endif /* CTS_EMIT_H */
