// node_name: `cluster/node` or `node` patterns with `*` wildcards.
import { FilterError, type FlowFilterKind } from './filter.js';

function partRegex(field: string, raw: string, part: string): string {
  if (part === '') return '.*';
  if (!/^[-a-z0-9_.*]+$/.test(part)) {
    throw new FilterError(field, raw, 'only letters, digits, "-", "_", "." and "*" are allowed in cluster and node names');
  }
  return part.replace(/\./g, '\\.').replace(/\*/g, '[-.0-9a-z_]*');
}

/** The node name filter kind. */
export const nodeNameFilter: FlowFilterKind = {
  name: 'node_name',
  build(ff) {
    if (ff.nodeName.length === 0) return [];
    const alternatives = ff.nodeName.map((raw) => {
      const p = raw.trim().toLowerCase();
      const slash = p.indexOf('/');
      const cluster = slash >= 0 ? p.slice(0, slash) : '';
      const node = slash >= 0 ? p.slice(slash + 1) : p;
      if (node.includes('/')) throw new FilterError('node_name', raw, 'write node or cluster/node');
      return `${partRegex('node_name', raw, cluster)}/${partRegex('node_name', raw, node)}`;
    });
    const re = new RegExp(`^(?:${alternatives.join('|')})$`, 'i');
    return [
      (f) => {
        if (f.nodeName === '') return false;
        const name = f.nodeName.includes('/') ? f.nodeName : `default/${f.nodeName}`;
        return re.test(name);
      },
    ];
  },
};
