// tcx (kernel >= 6.6): programs attached to an interface through a BPF link, pinned on
// bpffs so the attachment outlives the process. Links are created by ifindex in the
// caller's network namespace, so tcx is used only for interfaces in the agent's own
// namespace; endpoints in another namespace use tc clsact (tc-attach.ts).
import { existsSync, unlinkSync } from 'node:fs';
import { release } from 'node:os';
import { BpfError } from './errors.js';
import { check, closeFd, linkInfo, linkOps, objGet, objPin, type LinkInfo } from './libbpf.js';
import type { TcHook } from './tc-attach.js';

/** enum bpf_attach_type values of the tcx hooks. */
export const TcxAttachType = { ingress: 46, egress: 47 } as const;
const BPF_LINK_TYPE_TCX = 11;

let supported: boolean | undefined;

/** Whether the running kernel has tcx (6.6 or later). */
export function tcxSupported(): boolean {
  if (supported === undefined) {
    const [maj, min] = release().split('.').map((x) => parseInt(x, 10));
    supported = maj > 6 || (maj === 6 && min >= 6);
  }
  return supported;
}

/**
 * Attaches the program pinned at progPin to ifindex's tcx hook, keeping the link pinned
 * at linkPin. When a link is already pinned there it is updated to the new program
 * atomically (no packet sees no program).
 */
export function tcxAttach(ifindex: number, hook: TcHook, progPin: string, linkPin: string): void {
  const op = `tcx attach ${progPin} to ifindex ${ifindex} ${hook}`;
  if (!tcxSupported()) throw new BpfError(op, 95, { hint: `kernel ${release()} has no tcx (needs 6.6); attach with tc clsact instead` });
  const progFd = objGet(progPin, 'program');
  try {
    if (existsSync(linkPin)) {
      const linkFd = objGet(linkPin, 'tcx link');
      try {
        check(`${op} (update link ${linkPin})`, linkOps.update(linkFd, progFd), 'the pinned link must be a tcx link of this interface');
      } finally {
        closeFd(linkFd);
      }
      return;
    }
    const linkFd = check(op, linkOps.create(progFd, ifindex, TcxAttachType[hook]), 'the interface must exist in the calling process\'s network namespace');
    try {
      objPin(linkFd, linkPin, `tcx ${hook} link`);
    } finally {
      closeFd(linkFd); // the pin keeps the link (and so the attachment) alive
    }
  } finally {
    closeFd(progFd);
  }
}

/** Detaches by removing the link's pin (the kernel frees the link); false when not pinned. */
export function tcxDetach(linkPin: string): boolean {
  try {
    unlinkSync(linkPin);
    return true;
  } catch {
    return false;
  }
}

/** The pinned link's info (program id, ifindex, hook); undefined when nothing is pinned there. */
export function tcxLink(linkPin: string): LinkInfo | undefined {
  if (!existsSync(linkPin)) return undefined;
  const fd = objGet(linkPin, 'tcx link');
  try {
    const info = linkInfo(fd, `link ${linkPin}`);
    return info.type === BPF_LINK_TYPE_TCX ? info : undefined;
  } finally {
    closeFd(fd);
  }
}
