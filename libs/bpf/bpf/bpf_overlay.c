// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The program on the overlay: from-overlay, tc ingress of cilium_vxlan (tunnel mode), as
 * Cilium's bpf_overlay.c. Loaded once per node with endpoint id 0 in CONFIG; uses the
 * shared maps only. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include "events.h"
#include "maps.h"
#include "parse.h"
#include "conntrack.h"
#include "config.h"
#include "emit.h"
#include "marks.h"

/* tc ingress of cilium_vxlan (tunnel mode): the VNI is the sender's identity. A packet
 * for a local endpoint goes to that endpoint's to-container-local (tail call, identity in
 * skb->cb) and into its pod by bpf_redirect_peer; when the endpoint has no program there,
 * it is redirected to its host veth with the identity in skb->mark for to-container.
 * Anything else goes to the stack as a packet for this host (identity in the mark). */
SEC("tc")
int from_overlay(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = {};
	struct event_meta m = {};
	struct endpoint_key k = {};
	struct endpoint_value *v;
	struct pkt p = {};
	__u32 identity, remote;
	int ret;

	/* IPv4 underlay, else IPv6 (the helper refuses the other family's layout). */
	if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0) == 0) {
		remote = key.remote_ipv4;
	} else if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), BPF_F_TUNINFO_IPV6) == 0) {
		remote = __builtin_bswap32(key.remote_ipv6[3]);
	} else {
		return TC_ACT_OK;
	}
	identity = key.tunnel_id & 0xFFFFFF;
	ret = parse_packet(skb, &p);
	if (ret == PARSE_NOT_IP || ret < 0)
		return TC_ACT_OK;
	k.family = p.family;
	__builtin_memcpy(k.addr, p.daddr, 16);
	v = bpf_map_lookup_elem(&endpoints, &k);
	if (p.proto == IPPROTO_TCP ? (p.tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST)) != 0 : p.proto != IPPROTO_UDP) {
		m.type = EVENT_TYPE_TRACE;
		m.sub_type = TRACE_FROM_OVERLAY;
		m.flags = p.family == FAMILY_V6 ? EVENT_F_IPV6 : 0;
		if (v) {
			struct ct_key rk = {};

			/* A reply to a connection the local endpoint opened (its egress entry). */
			ct_key_reverse(&rk, &p, v->endpoint_id, DIR_EGRESS);
			if (bpf_map_lookup_elem(&ct, &rk))
				m.flags |= EVENT_F_REPLY;
		}
		m.src_identity = identity;
		m.dst_identity = v ? v->identity : WORLD_IDENTITY;
		m.dst_endpoint = v ? v->endpoint_id : 0;
		emit(skb, &m);
	}
	if (v && v->ifindex) {
		/* As local delivery: the endpoint's ingress side with the VNI's identity, then
		 * bpf_redirect_peer into its pod; without its program, via its host veth. */
		skb->cb[0] = OVERLAY_MAGIC;
		skb->cb[1] = identity;
		skb->cb[2] = remote;
		bpf_tail_call(skb, &policy_calls, v->endpoint_id);
		skb->cb[0] = 0;
		skb->mark = identity_mark(identity);
		return bpf_redirect_neigh(v->ifindex, NULL, 0, 0);
	}
	skb->mark = identity_mark(identity);
	bpf_skb_change_type(skb, PACKET_HOST);
	return TC_ACT_OK;
}
