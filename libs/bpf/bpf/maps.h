/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map definitions shared by the datapath programs. Key/value layouts are mirrored
 * byte for byte by libs/bpf/src/map-codecs.ts; change both together. */
#ifndef CTS_MAPS_H
#define CTS_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define FAMILY_V4 4
#define FAMILY_V6 6
#define DIR_INGRESS 0
#define DIR_EGRESS 1

/* ipcache: LPM trie, IP/prefix -> identity (+ the node hosting it). prefixlen counts the
 * 32 bits of family+pad before addr, so a /24 IPv4 CIDR has prefixlen 32 + 24. */
struct ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
struct ipcache_value {
	__u32 identity;
	__u8 host_family; /* 0 none, 4, 6 */
	__u8 pad[3];
	__u8 host_ip[16];
};

/* ct: LRU hash. One entry per (endpoint, direction that opened it, 5-tuple). Ports in
 * host order; addresses as on the wire, IPv4 in the first 4 bytes. */
struct ct_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u16 endpoint_id;
	__u8 dir;
	__u8 pad[3];
};
#define CT_F_SEEN_REPLY (1 << 0)
struct ct_value {
	__u64 created_ns;
	__u64 last_seen_ns;
	__u64 packets;
	__u64 bytes;
	__u32 peer_identity;
	__u8 tcp_flags_seen;
	__u8 flags;
	__u16 proxy_port;
};

/* policy (one map per endpoint): identity 0 = any, proto 0 = any, port 0 = any. */
struct policy_key {
	__u32 identity;
	__u16 port;
	__u8 proto;
	__u8 dir;
};
#define POLICY_F_DENY (1 << 0)
struct policy_value {
	__u16 proxy_port;
	__u8 flags;
	__u8 pad;
};

/* endpoints: local endpoint IP -> endpoint. */
struct endpoint_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
struct endpoint_value {
	__u32 ifindex;
	__u16 endpoint_id;
	__u16 flags;
	__u32 identity;
	__u32 pad;
};

/* metrics: per-CPU array indexed by (reason << 2) | dir -> packets, bytes. reason 0 =
 * forwarded, otherwise a drop reason; dir: 1 ingress, 2 egress (Cilium's
 * METRIC_INGRESS/EGRESS). An array (not a hash) so the per-packet update is a direct
 * index into this CPU's slot. */
#define METRICS_INDEX(reason, dir) (((__u32)(reason) << 2) | (dir))
struct metrics_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
} ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_value);
} ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct policy_key);
	__type(value, struct policy_value);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct endpoint_key);
	__type(value, struct endpoint_value);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct metrics_value);
} metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
} events SEC(".maps");

/* ep_flags[endpoint id]: enforcement per direction, whether the direction's policy
 * has deny entries (without, the first matching allow decides), and debug messages on,
 * written by the agent before it attaches the endpoint and around every policy change. */
#define EP_F_INGRESS_ENFORCED (1 << 0)
#define EP_F_EGRESS_ENFORCED (1 << 1)
#define EP_F_INGRESS_DENY (1 << 2)
#define EP_F_EGRESS_DENY (1 << 3)
/* Debug messages (EVENT_TYPE_DEBUG) for this endpoint's packets (Cilium's Debug option). */
#define EP_F_DEBUG (1 << 4)
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} ep_flags SEC(".maps");

/* tunnel[0]: VXLAN tunnel mode. ifindex 0 = native routing (no encapsulation);
 * otherwise the cilium_vxlan device from-container redirects remote traffic to, and this
 * node's underlay addresses (as on the wire, zero when absent), never tunnel endpoints:
 * a remote node is reached over IPv4 or IPv6 as its ipcache host address says. */
struct tunnel_config {
	__u32 ifindex;
	__u8 local_ipv4[4];
	__u8 local_ipv6[16];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tunnel_config);
} tunnel SEC(".maps");

/* policy_calls[endpoint id]: the endpoint's to_container_local program, tail-called by
 * another local endpoint's from_container to apply this endpoint's ingress side (CT,
 * policy, events) before bpf_redirect_peer puts the packet straight into its namespace.
 * No entry: the sender falls back to bpf_redirect_neigh to the host veth, where
 * to_container runs. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} policy_calls SEC(".maps");

/* proxy_ready: (endpoint id, proxy port) -> where a redirect to that proxy listener goes.
 * A policy verdict that carries a proxy port (an L7 rule covers the traffic) is a redirect
 * only while this entry exists; without it the packet is dropped with DROP_NO_CONFIG
 * (fail closed). Written only when the L7 proxy has confirmed that it holds the endpoint's
 * rules for that listener; nothing in the agent writes it yet. ifindex: the device the
 * packet is redirected to (bpf_redirect, skb->mark = MARK_MAGIC_TO_PROXY | port << 16, as
 * Cilium's hairpin through cilium_host); 0: to the node's stack (TC_ACT_OK with the mark,
 * for TPROXY), which only the egress side can do: an ingress redirect with ifindex 0
 * drops (fail closed). */
struct proxy_ready_key {
	__u16 endpoint_id;
	__u16 proxy_port;
};
struct proxy_ready_value {
	__u32 ifindex;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct proxy_ready_key);
	__type(value, struct proxy_ready_value);
} proxy_ready SEC(".maps");

/* events_lost[0]: records that did not fit in the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} events_lost SEC(".maps");

#endif
