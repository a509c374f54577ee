// Read-only access to a node's pinned ipcache for other processes (the L7 proxy): the
// security identity of an address, longest prefix first, as the datapath resolves it.
import { BpfMap } from './bpf-map.js';
import { parseIp } from './ip-address.js';
import { ipcacheKey, ipcacheValue, type IpcacheValue } from './map-codecs.js';
import type { Cidr } from './ip-address.js';

/** Identity of addresses with no ipcache entry (reserved:world), as in the datapath. */
export const WORLD_IDENTITY = 2;

/** The pinned ipcache of a datapath, opened for lookups. */
export class IpcacheReader {
  private constructor(private readonly map: BpfMap<Cidr, IpcacheValue>) {}

  /** Opens `<pinDir>/ipcache` (the Datapath's pin directory). Throws BpfError when it is not there. */
  static openPinned(pinDir: string): IpcacheReader {
    return new IpcacheReader(BpfMap.openPinned(`${pinDir}/ipcache`, 'ipcache', ipcacheKey, ipcacheValue));
  }

  /** The identity of `ip` (longest matching prefix), or WORLD_IDENTITY when none matches. Throws DatapathInputError for a bad address. */
  identityOf(ip: string): number {
    const a = parseIp(ip, 'ip');
    const v = this.map.lookup({ family: a.family, bytes: a.bytes, prefixLen: a.family === 4 ? 32 : 128 });
    return v ? v.identity : WORLD_IDENTITY;
  }

  close(): void {
    this.map.close();
  }
}
