// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Per-endpoint tc programs on the node side of an endpoint's veth.
 *   from-container (tc ingress of the host veth): traffic leaving the pod, egress policy.
 *   to-container   (tc egress of the host veth):  traffic entering the pod, ingress policy.
 *   to-container-local (tail call, never attached): the ingress side of traffic that a
 *                  local endpoint's from-container delivers straight into this pod's
 *                  namespace (bpf_redirect_peer), skipping the node's stack.
 * Each endpoint loads its own copy with its constants in .rodata (CONFIG) and its own
 * `policy` map; ipcache, ct, endpoints, metrics and events are shared and pinned. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include "events.h"
#include "maps.h"
#include "parse.h"
#include "conntrack.h"
#include "policy.h"
#include "config.h"
#include "lookup.h"
#include "emit.h"
#include "marks.h"
#include "encap.h"

/* Where a packet that the policy redirects to proxy_port goes: the proxy_ready entry's
 * ifindex (0: the node's stack: from a tc ingress hook as it is, from to-container on the
 * host veth's tc egress back in through that veth's ingress, see handle), or -1 when no
 * proxy has confirmed that it holds the endpoint's rules for that listener: the caller
 * drops, fail closed. */
static __always_inline int proxy_target(__u16 ep, __u16 proxy_port)
{
	struct proxy_ready_key k = { .endpoint_id = ep, .proxy_port = proxy_port };
	struct proxy_ready_value *r = bpf_map_lookup_elem(&proxy_ready, &k);

	if (!r)
		return -1;
	return (int)r->ifindex;
}

/* Local delivery: a packet from this endpoint to another endpoint of the node tail-calls
 * that endpoint's to-container-local program (policy_calls), which applies its ingress
 * side and puts the packet into the pod's namespace with bpf_redirect_peer: no node
 * routing, no second veth hop. When the destination has no program there (older
 * build, or peer redirect turned off), the packet is redirected to its host veth with
 * bpf_redirect_neigh (the kernel fills in the Ethernet header from its neighbour table)
 * and the destination's to-container runs on that veth's tc egress. In tunnel mode a
 * packet to another node's pod is encapsulated (encap), with a to-overlay trace when
 * traced is set; anything else goes to the node's stack. The destination side
 * (local set) finishes with bpf_redirect_peer into its own pod. */
static __always_inline int deliver(struct __sk_buff *skb, struct event_meta *m, const struct pkt *p, __u8 egress,
				   __u8 traced, __u8 local, __u32 dbg)
{
	struct endpoint_key k = {};
	struct endpoint_value *v;
	int ret;

	if (!egress)
		return local ? bpf_redirect_peer(CONFIG.ifindex, 0) : TC_ACT_OK;
	k.family = p->family;
	__builtin_memcpy(k.addr, p->daddr, 16);
	v = bpf_map_lookup_elem(&endpoints, &k);
	if (v && v->ifindex) {
		if (dbg)
			emit_debug(skb, m, DBG_LOCAL_DELIVERY, v->endpoint_id, CONFIG.identity, v->ifindex);
		skb->cb[0] = LOCAL_MAGIC;
		skb->cb[1] = CONFIG.identity;
		bpf_tail_call(skb, &policy_calls, v->endpoint_id);
		skb->cb[0] = 0;
		return bpf_redirect_neigh(v->ifindex, NULL, 0, 0);
	}
	if (v)
		return TC_ACT_OK;
	ret = encap(skb, p, m, dbg);
	if (ret < 0)
		return TC_ACT_OK;
	if (traced && ret != TC_ACT_SHOT) {
		m->type = EVENT_TYPE_TRACE;
		m->sub_type = TRACE_TO_OVERLAY;
		emit(skb, m);
	}
	return ret;
}

/* Per packet: parse; conntrack (replies and related ICMP pass; established
 * connections reuse the peer identity recorded at creation); otherwise resolve the peer
 * in the ipcache and check the policy; count; emit events only for drops, verdicts of
 * new connections and TCP SYN/FIN/RST, so a long connection costs a bounded number.
 * local: ingress side of a packet handed over by a local sender's from-container (the
 * sender's identity in skb->cb, events on this endpoint's host veth). */
static __always_inline int handle(struct __sk_buff *skb, __u8 dir, __u8 local)
{
	struct event_meta m = {};
	struct pkt p = {};
	struct ct_key fwd = {};
	struct verdict v = {};
	__u16 ep = (__u16)CONFIG.endpoint_id;
	__u8 egress = dir == DIR_EGRESS;
	__u32 len = skb->len;
	__u32 peer = WORLD_IDENTITY;
	__u32 handoff = local ? skb->cb[0] : 0;
	__u8 from_proxy = 0;
	__u32 tunnel_peer = local ? (handoff == LOCAL_MAGIC || handoff == OVERLAY_MAGIC ? skb->cb[1] : 0)
				  : egress ? 0 : take_identity_mark(skb, &from_proxy);
	__u32 flags = ep_flags_of(ep);
	__u32 dbg = flags & EP_F_DEBUG;
	__u32 enforced;
	__u8 traced, reason;
	int ret, state, proxy = -1;

	/* A packet to-container sent back into the node's stack for the L7 proxy (see the
	 * redirect below); a pod's own packets never carry a mark here (it is scrubbed when
	 * they leave its namespace). */
	if (egress && !local && (skb->mark & MARK_MAGIC_MASK) == MARK_MAGIC_TO_PROXY)
		return TC_ACT_OK;

	m.flags = egress ? EVENT_F_EGRESS : 0;
	m.src_identity = egress ? CONFIG.identity : WORLD_IDENTITY;
	m.dst_identity = egress ? WORLD_IDENTITY : CONFIG.identity;
	m.dst_endpoint = egress ? 0 : ep;
	m.ifindex = local ? CONFIG.ifindex : 0;

	ret = parse_packet(skb, &p);
	if (ret == PARSE_NOT_IP)
		return TC_ACT_OK;
	if (p.family == FAMILY_V6)
		m.flags |= EVENT_F_IPV6;
	if (ret < 0)
		return drop(skb, &m, &p, (__u8)-ret, dir);
	if (p.ndp)
		return TC_ACT_OK;
	if (dbg && tunnel_peer && (!local || handoff == OVERLAY_MAGIC))
		emit_debug(skb, &m, DBG_DECAP, tunnel_peer, local ? skb->cb[2] : 0, 0);

	state = ct_lookup(&p, ep, dir, len, &fwd, &peer);
	if (state == CT_REPLY || state == CT_RELATED)
		m.flags |= EVENT_F_REPLY;
	if (dbg)
		debug_ct(skb, &m, &p, dir, state, peer);
	if (state == CT_REPLY || state == CT_RELATED) {
		if (p.tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST)) {
			set_peer(&m, peer, egress);
			m.type = EVENT_TYPE_TRACE;
			m.sub_type = egress ? TRACE_FROM_LXC : TRACE_TO_LXC;
			emit_for(skb, &m, &p, egress);
		}
		count(0, dir, len);
		return deliver(skb, &m, &p, egress, p.tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST), local, dbg);
	}
	if (state == CT_NEW)
		peer = tunnel_peer ? tunnel_peer : lookup_identity(&p, egress ? p.daddr : p.saddr);
	set_peer(&m, peer, egress);

	enforced = flags & (egress ? EP_F_EGRESS_ENFORCED : EP_F_INGRESS_ENFORCED);
	if (enforced) {
		policy_check(&v, peer, p.proto, p.fragment ? 0 : p.policy_port, dir,
			     flags & (egress ? EP_F_EGRESS_DENY : EP_F_INGRESS_DENY));
	} else {
		v.allowed = 1;
		v.match_type = MATCH_NONE;
	}
	reason = v.denied_explicitly ? DROP_POLICY_DENY : DROP_POLICY;
	/* An allow that carries a proxy port is a redirect to the L7 proxy, never an L4 allow:
	 * while no proxy is ready for it, the traffic is dropped (fail closed). The proxy's
	 * own upstream connection (its mark) was decided by the proxy: its L3/L4 verdict for
	 * the original source's identity stands, without a second redirect. */
	if (v.allowed && v.proxy_port && !from_proxy) {
		proxy = proxy_target(ep, v.proxy_port);
		if (proxy < 0) {
			v.allowed = 0;
			reason = DROP_NO_CONFIG;
		}
	}

	/* Policy verdicts only where policy is enforced, as Cilium's verdict log filter does. */
	if (enforced && (state == CT_NEW || !v.allowed)) {
		struct event_meta pv = m;

		pv.type = EVENT_TYPE_POLICY_VERDICT;
		pv.sub_type = 0;
		pv.match_type = v.match_type;
		pv.port = p.policy_port;
		pv.proto = p.proto;
		if (v.allowed)
			pv.flags |= EVENT_F_ALLOWED | (proxy >= 0 ? EVENT_F_REDIRECTED : 0);
		else
			pv.drop_reason = reason;
		emit_for(skb, &pv, &p, egress);
		m.dst_endpoint = pv.dst_endpoint;
	}

	if (dbg && enforced)
		emit_debug(skb, &m, v.allowed ? DBG_L4_POLICY : DBG_POLICY_DENIED, m.src_identity, m.dst_identity,
			   ((__u32)p.policy_port << 16) | p.proto);

	if (!v.allowed) {
		if (state == CT_ESTABLISHED)
			bpf_map_delete_elem(&ct, &fwd);
		return drop(skb, &m, &p, reason, dir);
	}

	if (state == CT_NEW && !p.fragment) {
		ct_create(&fwd, &p, len, peer, v.proxy_port);
		if (dbg)
			emit_debug(skb, &m, p.family == FAMILY_V6 ? DBG_CT_CREATED6 : DBG_CT_CREATED4, peer, v.proxy_port, dir);
	}

	traced = state == CT_NEW || (p.tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST));
	if (traced) {
		m.type = EVENT_TYPE_TRACE;
		m.sub_type = proxy >= 0 ? TRACE_TO_PROXY : egress ? TRACE_FROM_LXC : TRACE_TO_LXC;
		emit_for(skb, &m, &p, egress);
	}
	count(0, dir, len);
	if (proxy >= 0) {
		/* Redirect to the L7 proxy: the listener port in the mark (for the proxy's
		 * TPROXY rule), to the device of the proxy_ready entry, else the node's stack. */
		skb->mark = MARK_MAGIC_TO_PROXY | ((__u32)v.proxy_port << 16);
		if (proxy)
			return bpf_redirect(proxy, 0);
		if (!egress && !local) {
			/* to-container on the host veth's tc egress (traffic the node's stack routed
			 * to the pod, e.g. from another node): TC_ACT_OK would hand it to the pod, so
			 * it goes back into the node's stack through the host veth's ingress,
			 * addressed to the veth itself (the frame's source MAC); from-container lets
			 * the marked packet pass there (marks never cross from a pod's namespace). */
			__u8 mac[6];

			if (bpf_skb_load_bytes(skb, 6, mac, sizeof(mac)) < 0 || bpf_skb_store_bytes(skb, 0, mac, sizeof(mac), 0) < 0)
				return drop(skb, &m, &p, DROP_NO_CONFIG, dir);
			return bpf_redirect(CONFIG.ifindex, BPF_F_INGRESS);
		}
		/* Into the node's stack from a tc ingress hook: a frame from the overlay may
		 * carry another host's MAC; the policy route of the mark makes it local. */
		bpf_skb_change_type(skb, PACKET_HOST);
		return TC_ACT_OK;
	}
	return deliver(skb, &m, &p, egress, traced, local, dbg);
}

SEC("tc")
int from_container(struct __sk_buff *skb)
{
	return handle(skb, DIR_EGRESS, 0);
}

SEC("tc")
int to_container(struct __sk_buff *skb)
{
	return handle(skb, DIR_INGRESS, 0);
}

/* Tail-called (policy_calls[this endpoint]) by a local sender's from-container: this
 * endpoint's ingress side, then bpf_redirect_peer into its pod (see deliver). */
SEC("tc")
int to_container_local(struct __sk_buff *skb)
{
	return handle(skb, DIR_INGRESS, 1);
}
