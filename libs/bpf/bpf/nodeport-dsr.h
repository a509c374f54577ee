/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NodePort DSR (direct server return) in native routing, as Cilium's --bpf-lb-mode dsr with
 * --bpf-lb-dsr-dispatch opt: the entry node forwards a new connection's first packet (TCP:
 * the SYN; UDP: every packet) to the backend's node with the client's source kept and the
 * service address carried in an IPv4 option right after the IP header, Cilium's layout
 * (type IPOPT_COPY | 0x1a, length 8, the service port, the service address; both in network
 * order here). The backend's node reads it (only for a packet to one of its endpoints, only
 * in DSR / hybrid mode), records the reverse NAT in its own nodeport_rev4 (flag NP_F_DSR)
 * and removes the option, so that the pod's reply leaves through to-netdev with the
 * service address as its source, straight to the client. Any other packet carrying such an
 * option is left as it is (the kernel ignores options it does not know on receive). */
#ifndef CTS_NODEPORT_DSR_H
#define CTS_NODEPORT_DSR_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

#define DSR_IPV4_OPT_TYPE (0x80 | 0x1a)
#define DSR_IPV4_OPT_LEN 8

struct dsr_opt_v4 {
	__u8 type;
	__u8 len;
	__u16 port;
	__u32 addr;
};

#define DSR_IP_OFF ETH_HLEN
#define DSR_OPT_OFF (ETH_HLEN + sizeof(struct iphdr))
#define DSR_CSUM_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, check))

/* Rewrites the IP header's first word (version / ihl, tos, tot_len) for a header grown by
 * delta bytes (negative: shrunk), and adds / removes the option's bytes to / from the
 * header checksum. -1 when a helper fails. */
static __always_inline int dsr_fix_header(struct __sk_buff *skb, const struct dsr_opt_v4 *opt, int delta)
{
	__u32 old_word, new_word;
	__u8 *w = (__u8 *)&new_word;
	__s64 diff;
	__u16 tot;

	if (bpf_skb_load_bytes(skb, DSR_IP_OFF, &old_word, 4) < 0)
		return -1;
	new_word = old_word;
	w[0] = (w[0] & 0xf0) | ((w[0] & 0x0f) + delta / 4);
	tot = bpf_ntohs(*(__u16 *)(w + 2)) + delta;
	*(__u16 *)(w + 2) = bpf_htons(tot);
	if (bpf_skb_store_bytes(skb, DSR_IP_OFF, &new_word, 4, 0) < 0)
		return -1;
	if (bpf_l3_csum_replace(skb, DSR_CSUM_OFF, old_word, new_word, 4) < 0)
		return -1;
	if (delta > 0)
		diff = bpf_csum_diff(0, 0, (__be32 *)opt, sizeof(*opt), 0);
	else
		diff = bpf_csum_diff((__be32 *)opt, sizeof(*opt), 0, 0, 0);
	if (diff < 0)
		return -1;
	return bpf_l3_csum_replace(skb, DSR_CSUM_OFF, 0, (__u32)diff, 0) < 0 ? -1 : 0;
}

/* Inserts the DSR option (the service addr:port, network order) after the IPv4 header's
 * fixed part of a packet whose header length is ihl words. -1 when the header has no room
 * (ihl > 13) or a helper fails. */
static __always_inline int dsr_add_opt4(struct __sk_buff *skb, __u8 ihl, __u32 addr, __u16 port)
{
	struct dsr_opt_v4 opt = { .type = DSR_IPV4_OPT_TYPE, .len = DSR_IPV4_OPT_LEN, .port = port, .addr = addr };

	if (ihl > 13)
		return -1;
	if (bpf_skb_adjust_room(skb, sizeof(opt), BPF_ADJ_ROOM_NET, 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, DSR_OPT_OFF, &opt, sizeof(opt), 0) < 0)
		return -1;
	return dsr_fix_header(skb, &opt, sizeof(opt));
}

/* The DSR option of a packet whose header length is ihl words: 1 and *opt filled when its
 * first option is one (the only place dsr_add_opt4 puts it), 0 when not. */
static __always_inline int dsr_read_opt4(struct __sk_buff *skb, __u8 ihl, struct dsr_opt_v4 *opt)
{
	if (ihl < 7)
		return 0;
	if (bpf_skb_load_bytes(skb, DSR_OPT_OFF, opt, sizeof(*opt)) < 0)
		return 0;
	return opt->type == DSR_IPV4_OPT_TYPE && opt->len == DSR_IPV4_OPT_LEN;
}

/* Removes the option dsr_read_opt4 found (the packet's header shrinks by 8 bytes). -1 when
 * a helper fails. */
static __always_inline int dsr_strip_opt4(struct __sk_buff *skb, const struct dsr_opt_v4 *opt)
{
	if (bpf_skb_adjust_room(skb, -(__s32)sizeof(*opt), BPF_ADJ_ROOM_NET, 0) < 0)
		return -1;
	return dsr_fix_header(skb, opt, -(int)sizeof(*opt));
}

#endif /* CTS_NODEPORT_DSR_H */
