/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Connection tracking over the shared LRU hash `ct`. An entry is keyed by the endpoint
 * and the direction (ingress / egress of that endpoint) that opened the connection, so
 * one endpoint's egress entry never lets a packet skip another endpoint's ingress policy. */
#ifndef CTS_CONNTRACK_H
#define CTS_CONNTRACK_H

#include "maps.h"
#include "parse.h"

#define CT_NEW 0
#define CT_ESTABLISHED 1
#define CT_REPLY 2
#define CT_RELATED 3

/* last_seen_ns is refreshed at most this often (ns). */
#define CT_TOUCH_INTERVAL_NS 100000000ULL

static __always_inline void ct_key_forward(struct ct_key *k, const struct pkt *p, __u16 ep, __u8 dir)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->sport = p->sport;
	k->dport = p->dport;
	k->proto = p->proto;
	k->family = p->family;
	k->endpoint_id = ep;
	k->dir = dir;
}

static __always_inline void ct_key_reverse(struct ct_key *k, const struct pkt *p, __u16 ep, __u8 dir)
{
	__builtin_memcpy(k->saddr, p->daddr, 16);
	__builtin_memcpy(k->daddr, p->saddr, 16);
	k->sport = p->dport;
	k->dport = p->sport;
	k->proto = p->proto;
	k->family = p->family;
	k->endpoint_id = ep;
	k->dir = dir;
}

static __always_inline void ct_touch(struct ct_value *v, const struct pkt *p, __u32 len, __u8 reply)
{
	/* The coarse clock (CLOCK_MONOTONIC at the last tick, so up to a tick behind
	 * bpf_ktime_get_ns) is far cheaper and plenty for a 100 ms touch interval and
	 * timeouts of seconds; the signed difference keeps last_seen from going back. */
	__u64 now = bpf_ktime_get_coarse_ns();

	/* A new SYN on a tuple whose connection was closed (FIN/RST seen) starts over, so
	 * the agent's GC gives it the established lifetime again. */
	if (!reply && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN && (v->tcp_flags_seen & (TCP_FIN | TCP_RST))) {
		now = bpf_ktime_get_ns();
		v->created_ns = now;
		v->last_seen_ns = now;
		v->tcp_flags_seen = 0;
		v->flags = 0;
	}
	/* Avoid dirtying the shared cache line on every packet: last_seen is what the GC
	 * needs, at a resolution far below any timeout. */
	if ((__s64)(now - v->last_seen_ns) > (__s64)CT_TOUCH_INTERVAL_NS)
		v->last_seen_ns = now;
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	if ((v->tcp_flags_seen | p->tcp_flags) != v->tcp_flags_seen)
		v->tcp_flags_seen |= p->tcp_flags;
	if (reply && !(v->flags & CT_F_SEEN_REPLY))
		v->flags |= CT_F_SEEN_REPLY;
}

/* Classifies p for endpoint ep running in direction dir. *fwd is filled with the
 * forward key (used to create the entry of a new connection); *peer with the peer
 * identity recorded when the connection was created (when one is found).
 * One lookup for most packets of a connection: the side that opens a connection
 * usually sends from the higher (ephemeral) port, so a packet from a lower port to a
 * higher one is tried as a reply first. Both keys are tried before a packet is new. */
static __always_inline int ct_lookup(const struct pkt *p, __u16 ep, __u8 dir, __u32 len, struct ct_key *fwd,
				     __u32 *peer)
{
	struct ct_key k = {};
	struct ct_value *v;
	__u8 other = dir == DIR_EGRESS ? DIR_INGRESS : DIR_EGRESS;
	__u8 reply_first = p->sport < p->dport;

	ct_key_forward(fwd, p, ep, dir);
	ct_key_reverse(&k, p, ep, other);
	if (reply_first) {
		v = bpf_map_lookup_elem(&ct, &k);
		if (v) {
			ct_touch(v, p, len, 1);
			*peer = v->peer_identity;
			return CT_REPLY;
		}
	}
	v = bpf_map_lookup_elem(&ct, fwd);
	if (v) {
		ct_touch(v, p, len, 0);
		*peer = v->peer_identity;
		return CT_ESTABLISHED;
	}
	if (!reply_first) {
		v = bpf_map_lookup_elem(&ct, &k);
		if (v) {
			ct_touch(v, p, len, 1);
			*peer = v->peer_identity;
			return CT_REPLY;
		}
	}
	if (p->icmp_error) {
		/* The quoted packet is one the peer received from a connection this
		 * endpoint tracks in the other direction. */
		__builtin_memset(&k, 0, sizeof(k));
		__builtin_memcpy(k.saddr, p->inner_saddr, 16);
		__builtin_memcpy(k.daddr, p->inner_daddr, 16);
		k.sport = p->inner_sport;
		k.dport = p->inner_dport;
		k.proto = p->inner_proto;
		k.family = p->family;
		k.endpoint_id = ep;
		k.dir = other;
		v = bpf_map_lookup_elem(&ct, &k);
		if (v) {
			*peer = v->peer_identity;
			return CT_RELATED;
		}
	}
	return CT_NEW;
}

static __always_inline void ct_create(const struct ct_key *fwd, const struct pkt *p, __u32 len,
				      __u32 peer_identity, __u16 proxy_port)
{
	struct ct_value v = {};

	v.created_ns = bpf_ktime_get_ns();
	v.last_seen_ns = v.created_ns;
	v.packets = 1;
	v.bytes = len;
	v.peer_identity = peer_identity;
	v.tcp_flags_seen = p->tcp_flags;
	v.proxy_port = proxy_port;
	bpf_map_update_elem(&ct, fwd, &v, BPF_ANY);
}

#endif
