// reply: compares with is_reply (absent never matches, except DROPPED flows count as false).
import { flow } from '@cilium-ts/api';
import type { FlowFilterKind } from './filter.js';

/** The reply filter kind. */
export const replyFilter: FlowFilterKind = {
  name: 'reply',
  build(ff) {
    if (ff.reply.length === 0) return [];
    const wanted = ff.reply;
    return [
      (f) => {
        const isReply = f.isReply ?? (f.verdict === flow.Verdict.DROPPED ? false : undefined);
        return isReply !== undefined && wanted.includes(isReply);
      },
    ];
  },
};
