// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The datapath object (dist/bpf/datapath.o): every attach point's programs in one ELF, so
 * that they share one definition of each map and one CONFIG (.rodata). The programs live
 * in one file per attach point, as Cilium's:
 *   bpf_lxc.c      from-container, to-container, to-container-local (an endpoint's veth);
 *   bpf_overlay.c  from-overlay (tc ingress of cilium_vxlan, tunnel mode).
 * Shared parts are headers: config.h (CONFIG), maps.h, parse.h, conntrack.h, policy.h,
 * lookup.h (shared-map lookups, metrics), emit.h (event emission; record layout in
 * events.h), marks.h (skb->mark / skb->cb hand-offs), encap.h (VXLAN encapsulation).
 * The loader (libs/bpf/src/endpoint-loader.ts) picks the programs it needs by name. */
#include "bpf_lxc.c"
#include "bpf_overlay.c"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
