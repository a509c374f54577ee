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

#define WORLD_IDENTITY 2

/* Endpoint constants, rewritten by the loader (libs/bpf/src/endpoint-loader.ts).
 * build_id identifies the object file, so the agent can tell whether an attached
 * program is current. Enforcement is not a constant: it lives in ep_flags so that a
 * policy change never needs a reload. */
struct ep_config {
	__u32 endpoint_id;
	__u32 identity;
	__u32 ifindex;
	__u32 build_id;
};

volatile const struct ep_config CONFIG = {};

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

/* Identity carried in skb->mark from from-overlay to to-container, Cilium's
 * MARK_MAGIC_IDENTITY layout: low 16 bits of the identity in bits 16-31, bits 16-23 of
 * the identity in bits 0-7, the magic in bits 8-11. */
#define MARK_MAGIC_IDENTITY 0x0F00
#define MARK_MAGIC_MASK 0x0F00

static __always_inline __u32 identity_mark(__u32 identity)
{
	return ((identity & 0xFFFF) << 16) | ((identity & 0xFF0000) >> 16) | MARK_MAGIC_IDENTITY;
}

/* The identity from-overlay left in the mark (clearing the mark), or 0 if none. */
static __always_inline __u32 take_identity_mark(struct __sk_buff *skb)
{
	__u32 mark = skb->mark;

	if ((mark & MARK_MAGIC_MASK) != MARK_MAGIC_IDENTITY)
		return 0;
	skb->mark = 0;
	return (mark >> 16) | ((mark & 0xFF) << 16);
}

/* Tunnel mode: a packet to an address whose ipcache entry names another node (its IPv4
 * or IPv6 underlay address) is sent through the VXLAN device with that node as the
 * remote end and this endpoint's identity as the VNI. IPv4 underlay: zero UDP checksum
 * (as Cilium); IPv6 underlay: the checksum is computed (receivers drop zero-checksum
 * UDP over IPv6 by default). Returns -1 when the packet is not for the tunnel. */
static __always_inline int encap(struct __sk_buff *skb, const struct pkt *p, const struct event_meta *m, __u32 dbg)
{
	struct bpf_tunnel_key key = {};
	struct ipcache_key k = {};
	struct ipcache_value *v;
	struct tunnel_config *t;
	__u64 flags = BPF_F_ZERO_CSUM_TX;
	__u32 zero = 0;
	__u32 remote;

	t = bpf_map_lookup_elem(&tunnel, &zero);
	if (!t || !t->ifindex)
		return -1;
	k.family = p->family;
	k.prefixlen = 32 + (p->family == FAMILY_V4 ? 32 : 128);
	__builtin_memcpy(k.addr, p->daddr, 16);
	v = bpf_map_lookup_elem(&ipcache, &k);
	if (!v)
		return -1;
	if (v->host_family == FAMILY_V4) {
		__builtin_memcpy(&remote, v->host_ip, 4);
		if (!remote || __builtin_memcmp(v->host_ip, t->local_ipv4, 4) == 0)
			return -1;
		key.remote_ipv4 = __builtin_bswap32(remote);
	} else if (v->host_family == FAMILY_V6) {
		__u64 hi, lo, own_hi, own_lo;

		__builtin_memcpy(&hi, v->host_ip, 8);
		__builtin_memcpy(&lo, v->host_ip + 8, 8);
		__builtin_memcpy(&own_hi, t->local_ipv6, 8);
		__builtin_memcpy(&own_lo, t->local_ipv6 + 8, 8);
		if ((!hi && !lo) || (hi == own_hi && lo == own_lo))
			return -1;
		__builtin_memcpy(key.remote_ipv6, v->host_ip, 16);
		flags = BPF_F_TUNINFO_IPV6;
	} else {
		return -1;
	}
	key.tunnel_id = CONFIG.identity & 0xFFFFFF;
	key.tunnel_ttl = 64;
	if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key), flags) < 0)
		return TC_ACT_SHOT;
	if (dbg)
		emit_debug(skb, m, DBG_ENCAP, addr32(v->host_ip, v->host_family), key.tunnel_id, t->ifindex);
	return bpf_redirect(t->ifindex, 0);
}

/* skb->mark of a packet redirected to the L7 proxy, Cilium's MARK_MAGIC_TO_PROXY layout:
 * the magic in bits 8-11, the proxy listener port (host order) in bits 16-31. */
#define MARK_MAGIC_TO_PROXY 0x0200

/* Where a packet that the policy redirects to proxy_port goes: the proxy_ready entry's
 * ifindex (0: the node's stack, egress only), or -1 when no proxy has confirmed that it
 * holds the endpoint's rules for that listener, or the entry gives no way to reach it
 * from this side (ingress without an ifindex): the caller drops, fail closed. */
static __always_inline int proxy_target(__u16 ep, __u16 proxy_port, __u8 egress)
{
	struct proxy_ready_key k = { .endpoint_id = ep, .proxy_port = proxy_port };
	struct proxy_ready_value *r = bpf_map_lookup_elem(&proxy_ready, &k);

	if (!r || (!r->ifindex && !egress))
		return -1;
	return (int)r->ifindex;
}

/* Hand-off from a sender's from-container (or from-overlay) to the destination's
 * to-container-local (tail call) in skb->cb: cb[0] LOCAL_MAGIC (OVERLAY_MAGIC), cb[1] the
 * sender's identity (the VNI), cb[2] from the overlay: the remote node's address (addr32). */
#define LOCAL_MAGIC 0x6c6f636cU
#define OVERLAY_MAGIC 0x6f766c79U

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
	__u32 tunnel_peer = local ? (handoff == LOCAL_MAGIC || handoff == OVERLAY_MAGIC ? skb->cb[1] : 0)
				  : egress ? 0 : take_identity_mark(skb);
	__u32 flags = ep_flags_of(ep);
	__u32 dbg = flags & EP_F_DEBUG;
	__u32 enforced;
	__u8 traced, reason;
	int ret, state, proxy = -1;

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
	 * while no proxy is ready for it, the traffic is dropped (fail closed). */
	if (v.allowed && v.proxy_port) {
		proxy = proxy_target(ep, v.proxy_port, egress);
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
		return proxy ? bpf_redirect(proxy, 0) : TC_ACT_OK;
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
