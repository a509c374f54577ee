/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NodePort maps (IPv4), as Cilium's nodeport/SNAT state: the node's settings, a
 * per-connection entry keyed by the client's original tuple (the backend it keeps), and a
 * reverse entry keyed by the reply's tuple as the backend sends it (what to restore).
 * Layouts mirrored byte for byte by libs/bpf/src/nodeport-codecs.ts; change both together.
 * Addresses and ports in network order. */
#ifndef CTS_NODEPORT_H
#define CTS_NODEPORT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NP_MAX_ENTRIES 65536

/* nodeport_config[0]: node_ipv4 0 = NodePort off (the programs pass everything). */
#define NP_MODE_SNAT 0
#define NP_MODE_DSR 1
#define NP_MODE_HYBRID 2 /* DSR for TCP, SNAT for UDP */
struct np_config {
	__u32 node_ipv4;
	__u32 mode;
};

/* A connection's tuple: client -> frontend (nodeport_ct4), or the reply as the backend
 * sends it (nodeport_rev4). */
struct np4_tuple {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* The backend went to another node: the packet left with the node's address (snat_port). */
#define NP_F_SNAT (1 << 0)
/* DSR: the backend went to another node with the client's source kept (nodeport_ct4), or
 * this node is that backend's and rewrites its replies' source (nodeport_rev4). */
#define NP_F_DSR (1 << 1)

struct np4_ct_value {
	__u32 backend_id;
	__u16 snat_port;
	__u16 rev_nat_index;
	__u8 flags;
	__u8 pad[3];
};

struct np4_rev_value {
	__u32 client_addr;
	__u32 frontend_addr;
	__u16 client_port;
	__u16 frontend_port;
	__u16 rev_nat_index;
	__u8 flags;
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct np_config);
} nodeport_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NP_MAX_ENTRIES);
	__type(key, struct np4_tuple);
	__type(value, struct np4_ct_value);
} nodeport_ct4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NP_MAX_ENTRIES);
	__type(key, struct np4_tuple);
	__type(value, struct np4_rev_value);
} nodeport_rev4 SEC(".maps");

#endif /* CTS_NODEPORT_H */
