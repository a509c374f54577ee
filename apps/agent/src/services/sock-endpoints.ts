/**
 * Names each local endpoint to the socket load balancer by its network namespace (netns
 * cookie -> endpoint id in the sock map `sock_endpoints`), so that its trace sock records,
 * and Hubble's flows of them, say which pod connected to a service. Endpoints created
 * before the load balancer is loaded are written when it is.
 */
import { netnsCookie } from '@cilium-ts/bpf';

/** What SockEndpoints writes to (SocketLb). */
export interface SockEndpointMap {
  setNetnsEndpoint(cookie: bigint, endpointId: number): void;
}

/** An endpoint as SockEndpoints needs it. */
export interface SockEndpoint {
  id: number;
  /** The path of the endpoint's network namespace ('' = none known). */
  netns: string;
}

/** Keeps sock_endpoints in step with the agent's endpoints. */
export class SockEndpoints {
  private map: SockEndpointMap | undefined;
  private readonly pending = new Map<number, SockEndpoint>();
  private readonly cookies = new Map<number, bigint>();

  constructor(
    private readonly log: (msg: string, fields: Record<string, unknown>) => void,
    private readonly cookieOf: (path: string) => bigint = netnsCookie,
  ) {}

  /** Starts writing to `map` (the endpoints seen so far first). */
  attach(map: SockEndpointMap): void {
    this.map = map;
    for (const ep of this.pending.values()) this.add(ep);
    this.pending.clear();
  }

  /** An endpoint was created or restored. */
  add(ep: SockEndpoint): void {
    if (!this.map) {
      this.pending.set(ep.id, ep);
      return;
    }
    if (ep.netns === '' || this.cookies.has(ep.id)) return;
    try {
      const cookie = this.cookieOf(ep.netns);
      this.map.setNetnsEndpoint(cookie, ep.id);
      this.cookies.set(ep.id, cookie);
    } catch (err) {
      this.log('cannot name the endpoint in socket load-balancing traces', { endpoint: ep.id, netns: ep.netns, error: (err as Error).message });
    }
  }

  /** An endpoint was deleted. */
  remove(id: number): void {
    this.pending.delete(id);
    const cookie = this.cookies.get(id);
    if (cookie === undefined) return;
    this.cookies.delete(id);
    try {
      this.map?.setNetnsEndpoint(cookie, 0);
    } catch (err) {
      this.log('cannot forget the endpoint in socket load-balancing traces', { endpoint: id, error: (err as Error).message });
    }
  }
}
