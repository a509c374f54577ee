/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Datapath event record written to the ring buffer map `events`.
 * Layout is fixed by docs/CONTRACTS.md ("Datapath event record"): little-endian,
 * a 48-byte header followed by cap_len bytes of the packet from its Ethernet header. */
#ifndef CTS_EVENTS_H
#define CTS_EVENTS_H

#include <linux/types.h>

#define EVENT_TYPE_DROP 1
#define EVENT_TYPE_DEBUG 2
#define EVENT_TYPE_TRACE 4
#define EVENT_TYPE_POLICY_VERDICT 5

/* Trace observation points (sub_type of EVENT_TYPE_TRACE), Cilium numbering. */
#define TRACE_TO_LXC 0
#define TRACE_TO_PROXY 1
#define TRACE_FROM_LXC 5
#define TRACE_TO_OVERLAY 4
#define TRACE_FROM_OVERLAY 9

/* Drop reasons (sub_type of EVENT_TYPE_DROP), Cilium numbering. */
#define DROP_INVALID 134
#define DROP_POLICY 133
#define DROP_CT_INVALID_HDR 135
#define DROP_UNKNOWN_L3 139
/* L7 fail-closed: the policy redirects the traffic to a proxy (an L7 rule covers it) but
 * no proxy has confirmed that it holds the rule (no proxy_ready entry). Upstream's
 * DROP_NO_CONFIG, "No configuration available to perform policy decision": the decision
 * belongs to the L7 proxy and the configuration it needs is not there. */
#define DROP_NO_CONFIG 165
#define DROP_POLICY_DENY 181

/* Debug message codes (sub_type of EVENT_TYPE_DEBUG), Cilium's DBG_* numbering
 * (flow.proto DebugEventType). Emitted only for endpoints with EP_F_DEBUG. */
#define DBG_LOCAL_DELIVERY 2
#define DBG_ENCAP 3
#define DBG_POLICY_DENIED 5
#define DBG_CT_MATCH 8
#define DBG_DECAP 16
#define DBG_L4_POLICY 45
#define DBG_CT_LOOKUP4_1 48
#define DBG_CT_LOOKUP4_2 49
#define DBG_CT_CREATED4 50
#define DBG_CT_LOOKUP6_1 51
#define DBG_CT_LOOKUP6_2 52
#define DBG_CT_CREATED6 53

/* flags */
#define EVENT_F_REPLY (1 << 0)
#define EVENT_F_EGRESS (1 << 1)
#define EVENT_F_IPV6 (1 << 2)
#define EVENT_F_ALLOWED (1 << 3)
/* Policy verdict: allowed by a redirect to the L7 proxy (hubble's REDIRECTED). */
#define EVENT_F_REDIRECTED (1 << 4)

/* policy_match_type */
#define MATCH_NONE 0
#define MATCH_L3_ONLY 1
#define MATCH_L3_L4 2
#define MATCH_L4_ONLY 3
#define MATCH_ALL 4

#define EVENT_VERSION 1
#define EVENT_HEADER_LEN 48
#define EVENT_CAP_LEN 128

struct event_record {
	__u8 type;             /* 0 */
	__u8 sub_type;         /* 1 */
	__u16 source;          /* 2: endpoint id of the emitting program */
	__u32 hash;            /* 4: 0 */
	__u32 orig_len;        /* 8 */
	__u16 cap_len;         /* 12 */
	__u8 version;          /* 14 */
	__u8 flags;            /* 15 */
	__u32 src_identity;    /* 16 */
	__u32 dst_identity;    /* 20 */
	__u16 dst_endpoint;    /* 24 */
	__u16 matched_port;    /* 26: host order */
	__u8 matched_proto;    /* 28 */
	__u8 match_type;       /* 29 */
	__u16 drop_reason;     /* 30: policy verdict: the drop reason when denied, else 0 */
	__u32 ifindex;         /* 32 */
	__u32 reserved2;       /* 36 */
	__u64 ktime_ns;        /* 40 */
	__u8 data[EVENT_CAP_LEN]; /* 48 */
};

_Static_assert(__builtin_offsetof(struct event_record, data) == EVENT_HEADER_LEN,
	       "event header must be 48 bytes");

/* A debug message (type EVENT_TYPE_DEBUG): the same 48-byte header with the identity /
 * endpoint / port block (bytes 16-31) holding arg1..arg3, and no packet (cap_len 0). */
struct debug_record {
	__u8 type;             /* 0: EVENT_TYPE_DEBUG */
	__u8 sub_type;         /* 1: DBG_* */
	__u16 source;          /* 2 */
	__u32 hash;            /* 4: the skb's flow hash */
	__u32 orig_len;        /* 8 */
	__u16 cap_len;         /* 12: 0 */
	__u8 version;          /* 14 */
	__u8 flags;            /* 15 */
	__u32 arg1;            /* 16 */
	__u32 arg2;            /* 20 */
	__u32 arg3;            /* 24 */
	__u32 reserved0;       /* 28 */
	__u32 ifindex;         /* 32 */
	__u32 reserved2;       /* 36 */
	__u64 ktime_ns;        /* 40 */
};

_Static_assert(sizeof(struct debug_record) == EVENT_HEADER_LEN, "debug record must be the 48-byte header");

#endif
