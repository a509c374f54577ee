// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* East-west load balancing at the socket, as Cilium's bpf_sock.c: cgroup sock_addr
 * programs translate a pod's connect() / sendmsg() to a service frontend into one of its
 * backends, so packets leave with the backend's address (no per-packet NAT; policy sees
 * the backend), and recvmsg() / getpeername() show the service address again. A
 * frontend without backends fails connect() / sendmsg() with ECONNREFUSED and emits a
 * drop record (DROP_NO_SERVICE) into the shared `events` ring buffer. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "events.h"
#include "lb.h"
#include "lb-select.h"
#include "lb-affinity.h"
#include <bpf/bpf_endian.h>

#define SYS_REJECT 0
#define SYS_PROCEED 1
#define ECONNREFUSED 111

/* The datapath's ring buffer (same definition as maps.h: reused through its pin). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
} events SEC(".maps");

#include "trace-sock.h"

static __always_inline void emit_no_service(__u8 flags)
{
	struct debug_record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r)
		return;
	__builtin_memset(r, 0, sizeof(*r));
	r->type = EVENT_TYPE_DROP;
	r->sub_type = DROP_NO_SERVICE;
	r->version = EVENT_VERSION;
	r->flags = flags | EVENT_F_EGRESS;
	r->ktime_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(r, 0);
}

static __always_inline int no_service(__u8 flags)
{
	emit_no_service(flags);
	bpf_set_retval(-ECONNREFUSED);
	return SYS_REJECT;
}

static __always_inline int l4_proto(struct bpf_sock_addr *ctx)
{
	__u32 p = ctx->protocol;

	return p == IPPROTO_TCP || p == IPPROTO_UDP ? (int)p : 0;
}

/* Translates ctx's IPv4 destination when it is a frontend; records the reverse entry. */
static __always_inline int sock4_xlate(struct bpf_sock_addr *ctx)
{
	int proto = l4_proto(ctx);
	struct lb4_key key = {};
	struct lb_service *svc;
	struct lb4_backend *be;
	struct bpf_sock *sk = ctx->sk;
	__u32 backend_id;

	if (!proto)
		return SYS_PROCEED;
	key.address = ctx->user_ip4;
	key.dport = (__u16)ctx->user_port;
	key.proto = (__u8)proto;
	svc = bpf_map_lookup_elem(&lb4_services, &key);
	if (!svc)
		return SYS_PROCEED;
	if (svc->count == 0)
		return no_service(0);
	emit_trace_sock(ctx, XLATE_PRE_DIRECTION_FWD, &key.address, 0, key.dport, proto, svc->rev_nat_index);
	struct lb_affinity_key ak = { .client_id = bpf_get_netns_cookie(ctx), .rev_nat_index = svc->rev_nat_index, .kind = LB_AFFINITY_NETNS };

	backend_id = svc->backend_id ? lb_affinity_lookup(&ak, svc, &lb4_services, &key, &key.backend_slot) : 0;
	if (!backend_id) {
		backend_id = lb_select_backend(&lb4_services, &key, &key.backend_slot, &lb4_maglev, svc,
					       lb_flow_hash(ctx, sk ? sk->src_ip4 : 0, key.address, key.dport, proto));
		if (backend_id && svc->backend_id)
			lb_affinity_update(&ak, backend_id);
	}
	if (!backend_id)
		return no_service(0);
	be = bpf_map_lookup_elem(&lb4_backends, &backend_id);
	if (!be)
		return no_service(0);

	struct lb4_sk_key rk = { .cookie = bpf_get_socket_cookie(ctx), .address = be->address, .port = be->port };
	struct lb4_sk_value rv = { .address = ctx->user_ip4, .port = (__u16)ctx->user_port, .rev_nat_index = svc->rev_nat_index };

	bpf_map_update_elem(&lb4_reverse_sk, &rk, &rv, BPF_ANY);
	emit_trace_sock(ctx, XLATE_POST_DIRECTION_FWD, &be->address, 0, be->port, proto, svc->rev_nat_index);
	ctx->user_ip4 = be->address;
	ctx->user_port = be->port;
	return SYS_PROCEED;
}

/* Shows the service address instead of the backend's (UDP replies, getpeername). */
static __always_inline void sock4_rev_xlate(struct bpf_sock_addr *ctx)
{
	struct lb4_sk_key rk = { .cookie = bpf_get_socket_cookie(ctx), .address = ctx->user_ip4, .port = (__u16)ctx->user_port };
	struct lb4_sk_value *rv = bpf_map_lookup_elem(&lb4_reverse_sk, &rk);
	struct lb4_reverse_nat *nat;

	if (!rv)
		return;
	/* The service may be gone: then its address is not shown any more. */
	nat = bpf_map_lookup_elem(&lb4_reverse_nat, &rv->rev_nat_index);
	if (!nat || nat->address != rv->address || nat->port != rv->port) {
		bpf_map_delete_elem(&lb4_reverse_sk, &rk);
		return;
	}
	emit_trace_sock(ctx, XLATE_PRE_DIRECTION_REV, &rk.address, 0, rk.port, (__u8)ctx->protocol, rv->rev_nat_index);
	ctx->user_ip4 = rv->address;
	ctx->user_port = rv->port;
	emit_trace_sock(ctx, XLATE_POST_DIRECTION_REV, &rv->address, 0, rv->port, (__u8)ctx->protocol, rv->rev_nat_index);
}

static __always_inline void read_ip6(struct bpf_sock_addr *ctx, __u8 *out)
{
	__u32 *w = (__u32 *)out;

	w[0] = ctx->user_ip6[0];
	w[1] = ctx->user_ip6[1];
	w[2] = ctx->user_ip6[2];
	w[3] = ctx->user_ip6[3];
}

static __always_inline void write_ip6(struct bpf_sock_addr *ctx, const __u8 *in)
{
	const __u32 *w = (const __u32 *)in;

	ctx->user_ip6[0] = w[0];
	ctx->user_ip6[1] = w[1];
	ctx->user_ip6[2] = w[2];
	ctx->user_ip6[3] = w[3];
}

static __always_inline int eq_ip6(const __u8 *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

static __always_inline int sock6_xlate(struct bpf_sock_addr *ctx)
{
	int proto = l4_proto(ctx);
	struct lb6_key key = {};
	struct lb_service *svc;
	struct lb6_backend *be;
	struct bpf_sock *sk = ctx->sk;
	__u32 backend_id, saddr = 0, daddr;

	if (!proto)
		return SYS_PROCEED;
	read_ip6(ctx, key.address);
	key.dport = (__u16)ctx->user_port;
	key.proto = (__u8)proto;
	svc = bpf_map_lookup_elem(&lb6_services, &key);
	if (!svc)
		return SYS_PROCEED;
	if (svc->count == 0)
		return no_service(EVENT_F_IPV6);
	emit_trace_sock(ctx, XLATE_PRE_DIRECTION_FWD, key.address, 1, key.dport, proto, svc->rev_nat_index);
	if (sk)
		saddr = sk->src_ip6[0] ^ sk->src_ip6[1] ^ sk->src_ip6[2] ^ sk->src_ip6[3];
	daddr = ctx->user_ip6[0] ^ ctx->user_ip6[1] ^ ctx->user_ip6[2] ^ ctx->user_ip6[3];
	struct lb_affinity_key ak = { .client_id = bpf_get_netns_cookie(ctx), .rev_nat_index = svc->rev_nat_index, .kind = LB_AFFINITY_NETNS };

	backend_id = svc->backend_id ? lb_affinity_lookup(&ak, svc, &lb6_services, &key, &key.backend_slot) : 0;
	if (!backend_id) {
		backend_id = lb_select_backend(&lb6_services, &key, &key.backend_slot, &lb6_maglev, svc,
					       lb_flow_hash(ctx, saddr, daddr, key.dport, proto));
		if (backend_id && svc->backend_id)
			lb_affinity_update(&ak, backend_id);
	}
	if (!backend_id)
		return no_service(EVENT_F_IPV6);
	be = bpf_map_lookup_elem(&lb6_backends, &backend_id);
	if (!be)
		return no_service(EVENT_F_IPV6);

	struct lb6_sk_key rk = { .cookie = bpf_get_socket_cookie(ctx), .port = be->port };
	struct lb6_sk_value rv = { .port = (__u16)ctx->user_port, .rev_nat_index = svc->rev_nat_index };

	__builtin_memcpy(rk.address, be->address, 16);
	__builtin_memcpy(rv.address, key.address, 16);
	bpf_map_update_elem(&lb6_reverse_sk, &rk, &rv, BPF_ANY);
	emit_trace_sock(ctx, XLATE_POST_DIRECTION_FWD, be->address, 1, be->port, proto, svc->rev_nat_index);
	write_ip6(ctx, be->address);
	ctx->user_port = be->port;
	return SYS_PROCEED;
}

static __always_inline void sock6_rev_xlate(struct bpf_sock_addr *ctx)
{
	struct lb6_sk_key rk = { .cookie = bpf_get_socket_cookie(ctx), .port = (__u16)ctx->user_port };
	struct lb6_sk_value *rv;
	struct lb6_reverse_nat *nat;

	read_ip6(ctx, rk.address);
	rv = bpf_map_lookup_elem(&lb6_reverse_sk, &rk);
	if (!rv)
		return;
	nat = bpf_map_lookup_elem(&lb6_reverse_nat, &rv->rev_nat_index);
	if (!nat || !eq_ip6(nat->address, rv->address) || nat->port != rv->port) {
		bpf_map_delete_elem(&lb6_reverse_sk, &rk);
		return;
	}
	emit_trace_sock(ctx, XLATE_PRE_DIRECTION_REV, rk.address, 1, rk.port, (__u8)ctx->protocol, rv->rev_nat_index);
	write_ip6(ctx, rv->address);
	ctx->user_port = rv->port;
	emit_trace_sock(ctx, XLATE_POST_DIRECTION_REV, rv->address, 1, rv->port, (__u8)ctx->protocol, rv->rev_nat_index);
}

SEC("cgroup/connect4")
int sock4_connect(struct bpf_sock_addr *ctx)
{
	return sock4_xlate(ctx);
}

SEC("cgroup/sendmsg4")
int sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	return sock4_xlate(ctx);
}

SEC("cgroup/recvmsg4")
int sock4_recvmsg(struct bpf_sock_addr *ctx)
{
	sock4_rev_xlate(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/getpeername4")
int sock4_getpeername(struct bpf_sock_addr *ctx)
{
	sock4_rev_xlate(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/connect6")
int sock6_connect(struct bpf_sock_addr *ctx)
{
	return sock6_xlate(ctx);
}

SEC("cgroup/sendmsg6")
int sock6_sendmsg(struct bpf_sock_addr *ctx)
{
	return sock6_xlate(ctx);
}

SEC("cgroup/recvmsg6")
int sock6_recvmsg(struct bpf_sock_addr *ctx)
{
	sock6_rev_xlate(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/getpeername6")
int sock6_getpeername(struct bpf_sock_addr *ctx)
{
	sock6_rev_xlate(ctx);
	return SYS_PROCEED;
}

char _license[] SEC("license") = "Dual BSD/GPL";
