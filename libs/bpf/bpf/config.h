/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The endpoint constants (CONFIG, the first .rodata variable: the loader rewrites it) and
 * the well-known identities the programs use. */
#ifndef CTS_CONFIG_H
#define CTS_CONFIG_H

#include <linux/types.h>

#define WORLD_IDENTITY 2

/* Endpoint constants, rewritten by the loader (libs/bpf/src/endpoint-loader.ts).
 * build_id identifies the object file, so the agent can tell whether an attached
 * program is current. Enforcement is not a constant: it lives in ep_flags so that a
 * policy change never needs a reload. */
struct ep_config {
	__u32 endpoint_id;
	__u32 identity;
	__u32 ifindex;
	__u32 build_id;
};

volatile const struct ep_config CONFIG = {};

#endif /* CTS_CONFIG_H */
