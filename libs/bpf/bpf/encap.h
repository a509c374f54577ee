/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Tunnel mode's encapsulation on the way out of an endpoint (from-container). */
#ifndef CTS_ENCAP_H
#define CTS_ENCAP_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "config.h"
#include "emit.h"
#include "parse.h"

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

#endif /* CTS_ENCAP_H */
