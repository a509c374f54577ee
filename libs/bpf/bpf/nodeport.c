// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* North-south load balancing per packet, as Cilium's bpf_host.c / nodeport.h in SNAT mode,
 * on the node's fabric-facing device (IPv4):
 *   from-netdev (tc ingress): a packet to a NodePort / ExternalIPs / LoadBalancer frontend
 *     (the frontend's own address, or 0.0.0.0:port for every address of this node) gets a
 *     backend (random or Maglev, as the socket LB) and keeps it (nodeport_ct4). A local
 *     backend: the destination is rewritten and the node's stack delivers it to the pod,
 *     whose to-container applies its policy to the client (world). A backend on another
 *     node: source rewritten to this node's address and a free port too (SNAT), and out of
 *     this device again (tunnel mode: through the VXLAN device with the world identity);
 *     that backend's policy sees world (this node's address has no identity of its own).
 *     A reply to such an SNAT'd connection is rewritten back and sent to the client.
 *   to-netdev (tc egress): a local backend's reply leaves with the frontend's address.
 * DSR mode (and hybrid for TCP), native routing: a backend on another node gets the packet
 *   with the client's source kept and the frontend in an IPv4 option (nodeport-dsr.h); that
 *   node's from-netdev records the reverse NAT and its to-netdev sends the reply with the
 *   frontend's address straight to the client; nothing of the reply passes this node. In
 *   tunnel mode DSR falls back to SNAT (the VXLAN header has no room for the frontend).
 * The service maps are the socket LB's (lb.h, pinned by sock.o), the endpoints map the
 * datapath's; the NodePort state is nodeport.h's. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "parse.h"
#include "lb.h"
#include "lb-select.h"
#include "lb-local.h"
#include "nodeport.h"
#include "nodeport-dsr.h"
#include "config.h"

/* Service types in slot 0's flags (libs/bpf/src/sock-lb.ts ServiceTypeNames). */
#define LB_TYPE_CLUSTER_IP 0

/* SNAT ports: the kernel's default ephemeral range (32768-60999). */
#define NP_SNAT_MIN 32768
#define NP_SNAT_RANGE 28232
#define NP_SNAT_TRIES 16

#define IP_CSUM_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, check))
#define IP_SADDR_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, saddr))
#define IP_DADDR_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, daddr))

/* An IPv4 TCP/UDP packet: its tuple and where its L4 header starts. */
struct np4_pkt {
	struct np4_tuple t;
	__u32 l4off;
	__u8 syn; /* TCP SYN without ACK: a new connection */
	__u8 ihl; /* IPv4 header length in 32-bit words */
};

/* 0 for an unfragmented IPv4 TCP / UDP packet (p filled), else -1: not ours. */
static __always_inline int np4_parse(struct __sk_buff *skb, struct np4_pkt *p)
{
	struct ethhdr *eth = PKT_PTR(skb, 0, sizeof(struct ethhdr));
	struct iphdr *ip;
	__u16 *ports;
	__u32 l4off;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	ip = PKT_PTR(skb, ETH_HLEN, sizeof(struct iphdr));
	if (!ip || ip->ihl < 5 || (ip->frag_off & bpf_htons(0x3fff)))
		return -1;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return -1;
	p->t.saddr = ip->saddr;
	p->t.daddr = ip->daddr;
	p->t.proto = ip->protocol;
	p->ihl = ip->ihl & 0xf;
	l4off = ETH_HLEN + (__u32)(ip->ihl & 0xf) * 4;
	if (p->t.proto == IPPROTO_TCP) {
		__u8 *tcp = PKT_PTR(skb, l4off, 14);

		if (!tcp)
			return -1;
		p->syn = (tcp[13] & (TCP_SYN | TCP_ACK)) == TCP_SYN;
		ports = (__u16 *)tcp;
	} else {
		ports = PKT_PTR(skb, l4off, 4);
		if (!ports)
			return -1;
	}
	p->t.sport = ports[0];
	p->t.dport = ports[1];
	p->l4off = l4off;
	return 0;
}

/* Rewrites one end of the packet (source: src 1) from (old_addr, old_port) to
 * (addr, port), fixing the IP and L4 checksums. -1 when a helper fails. */
static __always_inline int np4_rewrite(struct __sk_buff *skb, const struct np4_pkt *p, int src, __u32 old_addr,
				       __u16 old_port, __u32 addr, __u16 port)
{
	__u32 csum_off = p->l4off + (p->t.proto == IPPROTO_TCP ? 16 : 6);
	__u64 mangled = p->t.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (old_addr != addr) {
		if (bpf_l4_csum_replace(skb, csum_off, old_addr, addr, mangled | BPF_F_PSEUDO_HDR | 4) < 0)
			return -1;
		if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_addr, addr, 4) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, src ? IP_SADDR_OFF : IP_DADDR_OFF, &addr, 4, 0) < 0)
			return -1;
	}
	if (old_port != port) {
		if (bpf_l4_csum_replace(skb, csum_off, old_port, port, mangled | 2) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, p->l4off + (src ? 0 : 2), &port, 2, 0) < 0)
			return -1;
	}
	return 0;
}

static __always_inline int np4_is_local_endpoint(__u32 addr)
{
	struct endpoint_key k = { .family = FAMILY_V4 };

	__builtin_memcpy(k.addr, &addr, 4);
	return bpf_map_lookup_elem(&endpoints, &k) != 0;
}

/* The frontend of a packet to addr:port: the address's own entry, else this node's
 * 0.0.0.0:port (every node address). NULL when none or a ClusterIP (not reachable from
 * outside). key is left as the entry's key. */
static __always_inline struct lb_service *np4_frontend(struct lb4_key *key, const struct np4_pkt *p,
						       const struct np_config *cfg)
{
	struct lb_service *svc;

	key->address = p->t.daddr;
	key->dport = p->t.dport;
	key->proto = p->t.proto;
	svc = bpf_map_lookup_elem(&lb4_services, key);
	if (!svc && p->t.daddr == cfg->node_ipv4) {
		key->address = 0;
		svc = bpf_map_lookup_elem(&lb4_services, key);
	}
	if (!svc || svc->flags == LB_TYPE_CLUSTER_IP)
		return 0;
	return svc;
}

/* 1 when a connection to a backend on another node goes DSR: DSR mode, or hybrid for
 * TCP, and native routing (in tunnel mode it falls back to SNAT). */
static __always_inline int np4_dsr(const struct np4_pkt *p, const struct np_config *cfg)
{
	struct tunnel_config *t;
	__u32 zero = 0;

	if (cfg->mode != NP_MODE_DSR && !(cfg->mode == NP_MODE_HYBRID && p->t.proto == IPPROTO_TCP))
		return 0;
	t = bpf_map_lookup_elem(&tunnel, &zero);
	return !t || !t->ifindex;
}

/* On a backend's node (DSR / hybrid mode): a packet to a local endpoint carrying the DSR
 * option records the reverse NAT its replies need (reply tuple -> the client and the
 * frontend) and loses the option. 1 when done (the packet goes on to the pod), 0 when
 * not such a packet, -1 to drop. */
static __always_inline int np4_dsr_backend(struct __sk_buff *skb, const struct np4_pkt *p, const struct np_config *cfg)
{
	struct np4_rev_value rv = {};
	struct np4_tuple rk = {};
	struct dsr_opt_v4 opt;

	if (cfg->mode == NP_MODE_SNAT || !dsr_read_opt4(skb, p->ihl, &opt) || !np4_is_local_endpoint(p->t.daddr))
		return 0;
	rk.saddr = p->t.daddr;
	rk.sport = p->t.dport;
	rk.daddr = p->t.saddr;
	rk.dport = p->t.sport;
	rk.proto = p->t.proto;
	rv.client_addr = p->t.saddr;
	rv.client_port = p->t.sport;
	rv.frontend_addr = opt.addr;
	rv.frontend_port = opt.port;
	rv.flags = NP_F_DSR;
	bpf_map_update_elem(&nodeport_rev4, &rk, &rv, BPF_ANY);
	return dsr_strip_opt4(skb, &opt) < 0 ? -1 : 1;
}

/* A new connection: picks its backend and records both directions. Returns the backend
 * or NULL (no backend: the caller drops). */
static __always_inline struct lb4_backend *np4_new(const struct np4_pkt *p, const struct np_config *cfg,
						   struct lb4_key *key, struct lb_service *svc, struct np4_ct_value *cv)
{
	struct np4_rev_value rv = {};
	struct np4_tuple rk = {};
	struct lb4_backend *be;
	__u32 hash, id;
	int i;

	if (svc->count == 0)
		return 0;
	hash = lb_hash_3words(p->t.saddr, p->t.daddr, ((__u32)p->t.sport << 16 | p->t.dport) ^ ((__u32)p->t.proto << 8));
	id = svc->flags2 & LB_F2_LOCAL ? lb4_select_local(key, svc, hash)
				       : lb_select_backend(&lb4_services, key, &key->backend_slot, &lb4_maglev, svc, hash);
	if (!id)
		return 0;
	be = bpf_map_lookup_elem(&lb4_backends, &id);
	if (!be)
		return 0;
	cv->backend_id = id;
	cv->rev_nat_index = svc->rev_nat_index;
	rv.client_addr = p->t.saddr;
	rv.client_port = p->t.sport;
	rv.frontend_addr = p->t.daddr;
	rv.frontend_port = p->t.dport;
	rv.rev_nat_index = svc->rev_nat_index;
	rk.saddr = be->address;
	rk.sport = be->port;
	rk.proto = p->t.proto;
	if (np4_is_local_endpoint(be->address)) {
		rk.daddr = p->t.saddr;
		rk.dport = p->t.sport;
		bpf_map_update_elem(&nodeport_rev4, &rk, &rv, BPF_ANY);
	} else if (np4_dsr(p, cfg)) {
		/* The backend's node answers the client: no reverse state here. */
		cv->flags = NP_F_DSR;
	} else {
		cv->flags = NP_F_SNAT;
		rv.flags = NP_F_SNAT;
		rk.daddr = cfg->node_ipv4;
		for (i = 0; i < NP_SNAT_TRIES; i++) {
			__u16 port = NP_SNAT_MIN + (hash + (__u32)i * 7919) % NP_SNAT_RANGE;

			rk.dport = bpf_htons(port);
			if (bpf_map_update_elem(&nodeport_rev4, &rk, &rv, BPF_NOEXIST) == 0)
				break;
		}
		if (i == NP_SNAT_TRIES)
			return 0;
		cv->snat_port = rk.dport;
	}
	bpf_map_update_elem(&nodeport_ct4, &p->t, cv, BPF_ANY);
	return be;
}

/* Sends an SNAT'd packet toward its backend's node: in tunnel mode through the VXLAN
 * device to the node the ipcache names (VNI: world, the client's identity as Cilium
 * carries it), else out of this device to the next hop the node's routes give. */
static __always_inline int np4_to_backend_node(struct __sk_buff *skb, __u32 backend)
{
	struct bpf_tunnel_key key = {};
	struct ipcache_key k = { .prefixlen = 32 + 32, .family = FAMILY_V4 };
	struct ipcache_value *v;
	struct tunnel_config *t;
	__u64 flags = BPF_F_ZERO_CSUM_TX;
	__u32 zero = 0, remote;

	t = bpf_map_lookup_elem(&tunnel, &zero);
	if (!t || !t->ifindex)
		return bpf_redirect_neigh(skb->ifindex, 0, 0, 0);
	__builtin_memcpy(k.addr, &backend, 4);
	v = bpf_map_lookup_elem(&ipcache, &k);
	if (!v)
		return TC_ACT_SHOT;
	if (v->host_family == FAMILY_V4) {
		__builtin_memcpy(&remote, v->host_ip, 4);
		key.remote_ipv4 = __builtin_bswap32(remote);
	} else if (v->host_family == FAMILY_V6) {
		__builtin_memcpy(key.remote_ipv6, v->host_ip, 16);
		flags = BPF_F_TUNINFO_IPV6;
	} else {
		return TC_ACT_SHOT;
	}
	key.tunnel_id = WORLD_IDENTITY;
	key.tunnel_ttl = 64;
	if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key), flags) < 0)
		return TC_ACT_SHOT;
	return bpf_redirect(t->ifindex, 0);
}

SEC("tc")
int from_netdev(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct np_config *cfg = bpf_map_lookup_elem(&nodeport_config, &zero);
	struct np4_ct_value *found, cv = {};
	struct np4_rev_value *rv;
	struct lb4_backend *be = 0;
	struct lb_service *svc;
	struct lb4_key key = {};
	struct np4_pkt p = {};
	__u32 frontend_addr;
	__u16 frontend_port;

	if (!cfg || !cfg->node_ipv4 || np4_parse(skb, &p) < 0)
		return TC_ACT_OK;

	/* A DSR connection's packet for a local backend, from the entry node. */
	if (p.ihl > 5 && p.t.daddr != cfg->node_ipv4) {
		int r = np4_dsr_backend(skb, &p, cfg);

		if (r)
			return r < 0 ? TC_ACT_SHOT : TC_ACT_OK;
	}

	/* A backend's reply to a connection this node SNAT'd: back to the client. */
	if (p.t.daddr == cfg->node_ipv4) {
		rv = bpf_map_lookup_elem(&nodeport_rev4, &p.t);
		if (rv && (rv->flags & NP_F_SNAT)) {
			if (np4_rewrite(skb, &p, 1, p.t.saddr, p.t.sport, rv->frontend_addr, rv->frontend_port) < 0 ||
			    np4_rewrite(skb, &p, 0, p.t.daddr, p.t.dport, rv->client_addr, rv->client_port) < 0)
				return TC_ACT_SHOT;
			return bpf_redirect_neigh(skb->ifindex, 0, 0, 0);
		}
	}

	frontend_addr = p.t.daddr;
	frontend_port = p.t.dport;
	found = bpf_map_lookup_elem(&nodeport_ct4, &p.t);
	if (found) {
		cv = *found;
		be = bpf_map_lookup_elem(&lb4_backends, &cv.backend_id);
		/* A new connection on a recorded tuple (a client port used again) keeps the
		 * backend only while it takes new connections (a retransmitted SYN stays). */
		if (be && p.syn && be->flags != 0)
			be = 0;
	}
	if (!be) {
		/* New, or its backend is gone: (re)select. */
		svc = np4_frontend(&key, &p, cfg);
		if (!svc)
			return TC_ACT_OK;
		__builtin_memset(&cv, 0, sizeof(cv));
		be = np4_new(&p, cfg, &key, svc, &cv);
		if (!be)
			return TC_ACT_SHOT;
	}
	if (np4_rewrite(skb, &p, 0, p.t.daddr, p.t.dport, be->address, be->port) < 0)
		return TC_ACT_SHOT;
	if (cv.flags & NP_F_DSR) {
		/* The frontend rides along while the backend's node may not know the
		 * connection yet: TCP's SYN, every UDP datagram. */
		if ((p.syn || p.t.proto == IPPROTO_UDP) && dsr_add_opt4(skb, p.ihl, frontend_addr, frontend_port) < 0)
			return TC_ACT_SHOT;
		return bpf_redirect_neigh(skb->ifindex, 0, 0, 0);
	}
	if (!(cv.flags & NP_F_SNAT))
		return TC_ACT_OK;
	if (np4_rewrite(skb, &p, 1, p.t.saddr, p.t.sport, cfg->node_ipv4, cv.snat_port) < 0)
		return TC_ACT_SHOT;
	return np4_to_backend_node(skb, be->address);
}

SEC("tc")
int to_netdev(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct np_config *cfg = bpf_map_lookup_elem(&nodeport_config, &zero);
	struct np4_rev_value *rv;
	struct np4_pkt p = {};

	if (!cfg || !cfg->node_ipv4 || np4_parse(skb, &p) < 0)
		return TC_ACT_OK;
	rv = bpf_map_lookup_elem(&nodeport_rev4, &p.t);
	if (!rv || (rv->flags & NP_F_SNAT))
		return TC_ACT_OK;
	if (np4_rewrite(skb, &p, 1, p.t.saddr, p.t.sport, rv->frontend_addr, rv->frontend_port) < 0)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
