/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Policy lookup in the endpoint's `policy` map. Candidates, most specific first:
 * (id, proto, port), (id, proto, *), (*, proto, port), (*, proto, *), (id, *, *),
 * (*, *, *). A deny on any matching candidate wins; otherwise the first allow decides. */
#ifndef CTS_POLICY_H
#define CTS_POLICY_H

#include "events.h"
#include "maps.h"

struct verdict {
	__u8 allowed;
	__u8 denied_explicitly;
	__u8 match_type;
	__u8 proto;
	__u16 port;
	__u16 proxy_port;
};

static __always_inline void policy_try(struct verdict *v, __u32 id, __u8 proto, __u16 port, __u8 dir,
				       __u8 match_type)
{
	struct policy_key k = { .identity = id, .port = port, .proto = proto, .dir = dir };
	struct policy_value *pv = bpf_map_lookup_elem(&policy, &k);

	if (!pv)
		return;
	if (pv->flags & POLICY_F_DENY) {
		v->allowed = 0;
		v->denied_explicitly = 1;
		v->match_type = match_type;
		v->proto = proto;
		v->port = port;
		return;
	}
	if (!v->allowed && !v->denied_explicitly) {
		v->allowed = 1;
		v->match_type = match_type;
		v->proto = proto;
		v->port = port;
		v->proxy_port = pv->proxy_port;
	}
}

/* Evaluates the policy of direction dir for a peer identity and L4 (proto, port). When
 * the direction has no deny entry (has_deny 0) the first allow decides: one lookup for
 * the common (identity, proto, port) match instead of six. */
static __always_inline void policy_check(struct verdict *v, __u32 peer, __u8 proto, __u16 port, __u8 dir,
					 __u32 has_deny)
{
	policy_try(v, peer, proto, port, dir, MATCH_L3_L4);
	if (v->allowed && !has_deny)
		return;
	policy_try(v, peer, proto, 0, dir, MATCH_L3_L4);
	if (v->allowed && !has_deny)
		return;
	policy_try(v, 0, proto, port, dir, MATCH_L4_ONLY);
	if (v->allowed && !has_deny)
		return;
	policy_try(v, 0, proto, 0, dir, MATCH_L4_ONLY);
	if (v->allowed && !has_deny)
		return;
	policy_try(v, peer, 0, 0, dir, MATCH_L3_ONLY);
	if (v->allowed && !has_deny)
		return;
	policy_try(v, 0, 0, 0, dir, MATCH_ALL);
}

#endif
