/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What one program hands the next: skb->mark layouts (Cilium's MARK_MAGIC_IDENTITY,
 * MARK_MAGIC_TO_PROXY and MARK_MAGIC_PROXY_INGRESS) and the skb->cb hand-off of local delivery and from-overlay. */
#ifndef CTS_MARKS_H
#define CTS_MARKS_H

#include <linux/bpf.h>
#include <linux/types.h>

/* Identity carried in skb->mark from from-overlay to to-container, Cilium's
 * MARK_MAGIC_IDENTITY layout: low 16 bits of the identity in bits 16-31, bits 16-23 of
 * the identity in bits 0-7, the magic in bits 8-11. */
#define MARK_MAGIC_IDENTITY 0x0F00
#define MARK_MAGIC_MASK 0x0F00

static __always_inline __u32 identity_mark(__u32 identity)
{
	return ((identity & 0xFFFF) << 16) | ((identity & 0xFF0000) >> 16) | MARK_MAGIC_IDENTITY;
}

/* Upstream connections of the L7 proxy (Cilium's MARK_MAGIC_PROXY_INGRESS): the same
 * identity layout, with the original source's identity. Only a process of the node's
 * namespace can set it (a pod's mark is scrubbed when its packet leaves its namespace). */
#define MARK_MAGIC_FROM_PROXY 0x0A00

/* The identity from-overlay or the L7 proxy left in the mark (clearing the mark), or 0 if
 * none; *from_proxy says it was the proxy's. */
static __always_inline __u32 take_identity_mark(struct __sk_buff *skb, __u8 *from_proxy)
{
	__u32 mark = skb->mark;
	__u32 magic = mark & MARK_MAGIC_MASK;

	if (magic != MARK_MAGIC_IDENTITY && magic != MARK_MAGIC_FROM_PROXY)
		return 0;
	*from_proxy = magic == MARK_MAGIC_FROM_PROXY;
	skb->mark = 0;
	return (mark >> 16) | ((mark & 0xFF) << 16);
}

/* skb->mark of a packet redirected to the L7 proxy, Cilium's MARK_MAGIC_TO_PROXY layout:
 * the magic in bits 8-11, the proxy listener port (host order) in bits 16-31. */
#define MARK_MAGIC_TO_PROXY 0x0200

/* Hand-off from a sender's from-container (or from-overlay) to the destination's
 * to-container-local (tail call) in skb->cb: cb[0] LOCAL_MAGIC (OVERLAY_MAGIC), cb[1] the
 * sender's identity (the VNI), cb[2] from the overlay: the remote node's address (addr32). */
#define LOCAL_MAGIC 0x6c6f636cU
#define OVERLAY_MAGIC 0x6f766c79U

#endif /* CTS_MARKS_H */
