/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Load-balancing maps, in the layout of Cilium's lb4_ / lb6_ maps. Key/value layouts are
 * mirrored byte for byte by libs/bpf/src/lb-codecs.ts; change both together.
 *
 * Services: one entry per frontend with backend_slot 0 (count = backend slots,
 * rev_nat_index = the service id) and one per slot 1..count (backend_id). Only active
 * backends have a slot: terminating ones get no new connections. Addresses and ports in
 * network order, as the socket hooks see them. */
#ifndef CTS_LB_H
#define CTS_LB_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define LB_MAX_SERVICES 65536
#define LB_MAX_BACKENDS 65536
#define LB_SK_ENTRIES 262144

/* Cilium's DROP_NO_SERVICE, "Service backend not found". */
#define DROP_NO_SERVICE 158

struct lb4_key {
	__u32 address;
	__u16 dport;
	__u16 backend_slot;
	__u8 proto;
	__u8 scope;
	__u8 pad[2];
};
struct lb6_key {
	__u8 address[16];
	__u16 dport;
	__u16 backend_slot;
	__u8 proto;
	__u8 scope;
	__u8 pad[2];
};
/* Slot 0: count and rev_nat_index; slots 1..count: backend_id. */
struct lb_service {
	__u32 backend_id;
	__u16 count;
	__u16 rev_nat_index;
	__u8 flags;
	__u8 flags2;
	__u16 pad;
};
struct lb4_backend {
	__u32 address;
	__u16 port;
	__u8 proto;
	__u8 flags; /* 0 active, 1 terminating, 2 quarantined, 3 maintenance */
};
struct lb6_backend {
	__u8 address[16];
	__u16 port;
	__u8 proto;
	__u8 flags;
};
struct lb4_reverse_nat {
	__u32 address;
	__u16 port;
	__u16 pad;
};
struct lb6_reverse_nat {
	__u8 address[16];
	__u16 port;
	__u16 pad;
};
/* Socket reverse NAT: (socket cookie, backend) -> the service address it replaced. */
struct lb4_sk_key {
	__u64 cookie;
	__u32 address;
	__u16 port;
	__u16 pad;
};
struct lb4_sk_value {
	__u32 address;
	__u16 port;
	__u16 rev_nat_index;
};
struct lb6_sk_key {
	__u64 cookie;
	__u8 address[16];
	__u16 port;
	__u8 pad[6];
};
struct lb6_sk_value {
	__u8 address[16];
	__u16 port;
	__u16 rev_nat_index;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, struct lb4_key);
	__type(value, struct lb_service);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lb4_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, struct lb6_key);
	__type(value, struct lb_service);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lb6_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb4_backend);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lb4_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb6_backend);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lb6_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, __u16);
	__type(value, struct lb4_reverse_nat);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lb4_reverse_nat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, __u16);
	__type(value, struct lb6_reverse_nat);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lb6_reverse_nat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_SK_ENTRIES);
	__type(key, struct lb4_sk_key);
	__type(value, struct lb4_sk_value);
} lb4_reverse_sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_SK_ENTRIES);
	__type(key, struct lb6_sk_key);
	__type(value, struct lb6_sk_value);
} lb6_reverse_sk SEC(".maps");

#endif
