/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Socket load-balancing trace records (Cilium's trace_sock_notify, MessageTypeTraceSock 7):
 * what a pod's connect() / sendmsg() to a service frontend was translated to, and what
 * recvmsg() / getpeername() showed instead of a backend. One record per translation point
 * (sub_type = xlate point, Cilium numbering), into the shared `events` ring buffer. The
 * socket's network namespace names the pod: the agent writes each endpoint's netns cookie
 * into `sock_endpoints`, so the record's `source` is that endpoint's id (0 when the socket
 * is in no known endpoint's namespace). Layout: docs/CONTRACTS.md "Trace sock record",
 * mirrored by libs/bpf/src/trace-sock-record.ts. */
#ifndef CTS_TRACE_SOCK_H
#define CTS_TRACE_SOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "events.h"

#define EVENT_TYPE_TRACE_SOCK 7

/* Translation points (sub_type of EVENT_TYPE_TRACE_SOCK), Cilium's enum xlate_point. */
#define XLATE_PRE_DIRECTION_FWD 1
#define XLATE_POST_DIRECTION_FWD 2
#define XLATE_PRE_DIRECTION_REV 3
#define XLATE_POST_DIRECTION_REV 4

/* netns cookie -> the endpoint living in that network namespace. */
struct sock_endpoint {
	__u16 endpoint_id;
	__u16 pad;
	__u32 pad2;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sock_endpoint);
} sock_endpoints SEC(".maps");

struct trace_sock_record {
	__u8 type;             /* 0: EVENT_TYPE_TRACE_SOCK */
	__u8 sub_type;         /* 1: XLATE_* */
	__u16 source;          /* 2: endpoint id of the socket's netns, 0 = unknown */
	__u32 hash;            /* 4: 0 */
	__u32 orig_len;        /* 8: 0 */
	__u16 cap_len;         /* 12: 32, the bytes after the header (readers keep header + cap_len) */
	__u8 version;          /* 14 */
	__u8 flags;            /* 15: EVENT_F_EGRESS (forward) | EVENT_F_REPLY (reverse) | EVENT_F_IPV6 */
	__u32 reserved0;       /* 16 */
	__u16 rev_nat_index;   /* 20: the service id */
	__u16 dst_port;        /* 22: host order */
	__u8 l4_proto;         /* 24: IPPROTO_TCP / IPPROTO_UDP */
	__u8 reserved1[3];     /* 25 */
	__u32 reserved2;       /* 28 */
	__u32 ifindex;         /* 32: 0 */
	__u32 reserved3;       /* 36 */
	__u64 ktime_ns;        /* 40 */
	__u64 sock_cookie;     /* 48 */
	__u64 cgroup_id;       /* 56 */
	__u8 dst_ip[16];       /* 64: IPv4 in the first 4 bytes */
};

_Static_assert(sizeof(struct trace_sock_record) == 80, "trace sock record must be 80 bytes");

/* Emits one trace sock record; addr points to 4 (IPv4) or 16 (IPv6) bytes in network order,
 * port is in network order (as the socket hooks hold it). */
static __always_inline void emit_trace_sock(struct bpf_sock_addr *ctx, __u8 point, const void *addr, int ipv6,
					    __u16 port_be, __u8 proto, __u16 rev_nat_index)
{
	__u64 netns = bpf_get_netns_cookie(ctx);
	struct sock_endpoint *ep = bpf_map_lookup_elem(&sock_endpoints, &netns);
	struct trace_sock_record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r)
		return;
	__builtin_memset(r, 0, sizeof(*r));
	r->type = EVENT_TYPE_TRACE_SOCK;
	r->sub_type = point;
	r->source = ep ? ep->endpoint_id : 0;
	r->cap_len = sizeof(*r) - EVENT_HEADER_LEN;
	r->version = EVENT_VERSION;
	r->flags = (point <= XLATE_POST_DIRECTION_FWD ? EVENT_F_EGRESS : EVENT_F_REPLY) | (ipv6 ? EVENT_F_IPV6 : 0);
	r->rev_nat_index = rev_nat_index;
	r->dst_port = bpf_ntohs(port_be);
	r->l4_proto = proto;
	r->ktime_ns = bpf_ktime_get_ns();
	r->sock_cookie = bpf_get_socket_cookie(ctx);
	r->cgroup_id = bpf_get_current_cgroup_id();
	if (ipv6)
		__builtin_memcpy(r->dst_ip, addr, 16);
	else
		__builtin_memcpy(r->dst_ip, addr, 4);
	bpf_ringbuf_submit(r, 0);
}

#endif
