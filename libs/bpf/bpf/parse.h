/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing: Ethernet, IPv4 / IPv6 (with common extension headers), and the L4
 * header of TCP, UDP, SCTP, ICMP and ICMPv6, into one flat description. Headers are
 * read in place through skb->data / data_end (no per-field helper call). */
#ifndef CTS_PARSE_H
#define CTS_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "maps.h"

#define PARSE_OK 0
#define PARSE_NOT_IP 1

#define IPPROTO_ICMPV6_ 58
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

struct pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;       /* host order; ICMP echo: identifier */
	__u16 dport;       /* host order; ICMP echo: identifier */
	__u16 policy_port; /* port the policy matches: dport, or the ICMP type */
	__u8 family;
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_error;   /* ICMP/ICMPv6 error: inner_* describe the quoted packet */
	__u8 ndp;          /* ICMPv6 neighbour discovery, router and MLD messages */
	__u8 fragment;     /* non-first fragment: no L4 header */
	__u8 inner_saddr[16];
	__u8 inner_daddr[16];
	__u16 inner_sport;
	__u16 inner_dport;
	__u8 inner_proto;
};

/* Headers are read in place (direct packet access). Offsets beyond this are refused, so
 * the verifier can bound every packet pointer. */
#define PARSE_MAX_OFF 2048

/* skb->data / skb->data_end, read with one load from the context register each time
 * (clang otherwise hoists ctx+offset into a register, which the verifier refuses). */
static __always_inline __u8 *ctx_data(struct __sk_buff *skb)
{
	__u8 *d;

	asm volatile("%0 = *(u32 *)(%1 + %2)" : "=r"(d) : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, data)));
	return d;
}

static __always_inline void *ctx_data_end(struct __sk_buff *skb)
{
	void *d;

	asm volatile("%0 = *(u32 *)(%1 + %2)" : "=r"(d) : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, data_end)));
	return d;
}

/* A pointer to len bytes at off in the packet, pulling them into the linear area first
 * when they are not there (bpf_skb_pull_data; it invalidates earlier pointers, so callers
 * copy what they need before the next call). NULL when the packet is shorter. */
#define PKT_PTR(skb, off, len)                                                                   \
	({                                                                                       \
		__u32 __off = (off);                                                             \
		void *__r = 0;                                                                   \
		if (__off <= PARSE_MAX_OFF) {                                                    \
			__u8 *__d = ctx_data(skb);                                   \
			if ((void *)(__d + __off + (len)) > ctx_data_end(skb)) {      \
				if (bpf_skb_pull_data((skb), __off + (len)) == 0) {              \
					__d = ctx_data(skb);                         \
					if ((void *)(__d + __off + (len)) <=                     \
					    ctx_data_end(skb))                       \
						__r = __d + __off;                               \
				}                                                                \
			} else {                                                                 \
				__r = __d + __off;                                               \
			}                                                                        \
		}                                                                                \
		__r;                                                                             \
	})

/* Reads source and destination ports (or ICMP identifiers) at off for proto.
 * Returns 0, or a negative drop reason when the header is truncated. */
static __always_inline int parse_ports(struct __sk_buff *skb, __u32 off, __u8 proto, __u8 family,
				       __u16 *sport, __u16 *dport, __u8 *type_out, __u8 *tcp_flags)
{
	__u8 *h;

	switch (proto) {
	case IPPROTO_TCP:
		h = PKT_PTR(skb, off, 14);
		if (!h)
			return -DROP_CT_INVALID_HDR;
		*sport = ((__u16)h[0] << 8) | h[1];
		*dport = ((__u16)h[2] << 8) | h[3];
		if (tcp_flags)
			*tcp_flags = h[13];
		return 0;
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		h = PKT_PTR(skb, off, 4);
		if (!h)
			return -DROP_CT_INVALID_HDR;
		*sport = ((__u16)h[0] << 8) | h[1];
		*dport = ((__u16)h[2] << 8) | h[3];
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		h = PKT_PTR(skb, off, 8);
		if (!h)
			return -DROP_CT_INVALID_HDR;
		if (type_out)
			*type_out = h[0];
		/* echo request/reply: both "ports" carry the identifier so that the
		 * reversed tuple of a reply matches the request's entry. */
		if ((family == FAMILY_V4 && (h[0] == 8 || h[0] == 0)) ||
		    (family == FAMILY_V6 && (h[0] == 128 || h[0] == 129))) {
			*sport = ((__u16)h[4] << 8) | h[5];
			*dport = *sport;
		}
		return 0;
	default:
		return 0;
	}
}

/* Parses an IPv6 extension header chain starting with *nexthdr at *off. */
static __always_inline int skip_ipv6_ext(struct __sk_buff *skb, __u32 *off, __u8 *nexthdr, __u8 *fragment)
{
	__u8 *ext;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		__u8 nh = *nexthdr;

		if (nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING && nh != NEXTHDR_FRAGMENT &&
		    nh != NEXTHDR_DEST)
			return 0;
		ext = PKT_PTR(skb, *off, 8);
		if (!ext)
			return -DROP_INVALID;
		*nexthdr = ext[0];
		if (nh == NEXTHDR_FRAGMENT) {
			if (((ext[2] << 8) | ext[3]) & 0xfff8)
				*fragment = 1;
			*off += 8;
		} else {
			*off += ((__u32)ext[1] + 1) * 8;
		}
	}
	return 0;
}

/* Parses the quoted packet of an ICMP error at off (the inner IP header). */
static __always_inline int parse_icmp_inner(struct __sk_buff *skb, __u32 off, struct pkt *p)
{
	if (p->family == FAMILY_V4) {
		struct iphdr *ip = PKT_PTR(skb, off, sizeof(struct iphdr));

		if (!ip)
			return -DROP_INVALID;
		__builtin_memcpy(p->inner_saddr, &ip->saddr, 4);
		__builtin_memcpy(p->inner_daddr, &ip->daddr, 4);
		p->inner_proto = ip->protocol;
		off += (__u32)(ip->ihl & 0xf) * 4;
	} else {
		struct ipv6hdr *ip6 = PKT_PTR(skb, off, sizeof(struct ipv6hdr));

		if (!ip6)
			return -DROP_INVALID;
		__builtin_memcpy(p->inner_saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->inner_daddr, &ip6->daddr, 16);
		p->inner_proto = ip6->nexthdr;
		off += sizeof(struct ipv6hdr);
	}
	/* ICMP errors quote at least 8 bytes of L4 header: the ports. */
	return parse_ports(skb, off, p->inner_proto, p->family, &p->inner_sport, &p->inner_dport, 0, 0);
}

/* Parses skb into p. Returns PARSE_OK, PARSE_NOT_IP (let it pass untouched), or a
 * negative drop reason. */
static __always_inline int parse_packet(struct __sk_buff *skb, struct pkt *p)
{
	struct ethhdr *eth;
	__u16 h_proto;
	__u32 off = sizeof(struct ethhdr);
	__u8 icmp_type = 0;
	int ret;

	eth = PKT_PTR(skb, 0, sizeof(struct ethhdr));
	if (!eth)
		return PARSE_NOT_IP;
	h_proto = eth->h_proto;

	if (h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = PKT_PTR(skb, off, sizeof(struct iphdr));

		if (!ip)
			return -DROP_INVALID;
		if (ip->ihl < 5)
			return -DROP_INVALID;
		p->family = FAMILY_V4;
		p->proto = ip->protocol;
		__builtin_memcpy(p->saddr, &ip->saddr, 4);
		__builtin_memcpy(p->daddr, &ip->daddr, 4);
		if (ip->frag_off & bpf_htons(0x1fff))
			p->fragment = 1;
		off += (__u32)(ip->ihl & 0xf) * 4;
	} else if (h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = PKT_PTR(skb, off, sizeof(struct ipv6hdr));
		__u8 nexthdr;

		if (!ip6)
			return -DROP_INVALID;
		p->family = FAMILY_V6;
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		off += sizeof(struct ipv6hdr);
		nexthdr = ip6->nexthdr;
		ret = skip_ipv6_ext(skb, &off, &nexthdr, &p->fragment);
		if (ret < 0)
			return ret;
		p->proto = nexthdr;
	} else {
		return PARSE_NOT_IP;
	}

	if (p->fragment)
		return PARSE_OK;

	ret = parse_ports(skb, off, p->proto, p->family, &p->sport, &p->dport, &icmp_type, &p->tcp_flags);
	if (ret < 0)
		return ret;
	p->policy_port = p->dport;

	if (p->proto == IPPROTO_ICMP) {
		p->policy_port = icmp_type;
		if (icmp_type == 3 || icmp_type == 11 || icmp_type == 12) {
			p->icmp_error = 1;
			if (parse_icmp_inner(skb, off + 8, p) < 0)
				p->icmp_error = 0;
		}
	} else if (p->proto == IPPROTO_ICMPV6_) {
		p->policy_port = icmp_type;
		/* Neighbour discovery (133-137) and multicast listener messages (130-132,
		 * 143) are link-local control traffic, never subject to policy. */
		if ((icmp_type >= 130 && icmp_type <= 137) || icmp_type == 143)
			p->ndp = 1;
		else if (icmp_type >= 1 && icmp_type <= 4) {
			p->icmp_error = 1;
			if (parse_icmp_inner(skb, off + 8, p) < 0)
				p->icmp_error = 0;
		}
	}
	return PARSE_OK;
}

#endif
