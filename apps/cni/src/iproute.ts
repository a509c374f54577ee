// A thin runner for iproute2 (`ip`) in the plugin's own network namespace or, through
// `nsenter --net=<path>`, in a pod's. Every kernel change the plugin makes goes through it.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

/** An `ip` (or `nsenter`) invocation that failed. */
export class IprouteError extends Error {
  override readonly name = 'IprouteError';
  /** The full command line that was run. */
  readonly argv: string[];
  /** What the command wrote on stderr. */
  readonly stderr: string;
  /** Its exit code, or null when it could not be started. */
  readonly exitCode: number | null;

  constructor(argv: string[], stderr: string, exitCode: number | null, cause?: unknown) {
    super(`${argv.join(' ')} failed (exit ${exitCode ?? 'n/a'}): ${stderr.trim() || 'no output'}`, { cause });
    this.argv = argv;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** One link as `ip -j link show` reports it (the fields we use). */
export interface LinkInfo {
  ifindex: number;
  ifname: string;
  address: string;
  mtu: number;
  flags: string[];
  operstate: string;
}

/** One address as `ip -j addr show` reports it (the fields we use). */
export interface AddrInfo {
  family: string;
  local: string;
  prefixlen: number;
}

/** One route as `ip -j route show` reports it (the fields we use). */
export interface RouteInfo {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
}

/** Runs `ip` in one network namespace: '' for the plugin's own, else a netns file path. */
export class Iproute {
  /** The network namespace file path, or '' for the current namespace. */
  readonly netns: string;

  constructor(netns = '') {
    this.netns = netns;
  }

  /** Runs `ip <args>` and resolves with its stdout; rejects with IprouteError. */
  run(args: string[]): Promise<string> {
    const argv = this.netns === '' ? ['ip', ...args] : ['nsenter', `--net=${this.netns}`, 'ip', ...args];
    return new Promise((resolve, reject) => {
      execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          reject(new IprouteError(argv, stderr || err.message, code, err));
        } else {
          resolve(stdout);
        }
      });
    });
  }

  /** Runs `ip -j <args>` and parses the JSON it prints (an empty output is []). */
  async json<T>(args: string[]): Promise<T[]> {
    const out = await this.run(['-j', ...args]);
    return out.trim() === '' ? [] : (JSON.parse(out) as T[]);
  }

  /** The link named `name`, or undefined when there is none. */
  async link(name: string): Promise<LinkInfo | undefined> {
    try {
      const links = await this.json<LinkInfo>(['link', 'show', 'dev', name]);
      return links[0];
    } catch (err) {
      if (err instanceof IprouteError && /does not exist|Cannot find device/i.test(err.stderr)) return undefined;
      throw err;
    }
  }

  /** The addresses of link `name` (family 'inet' or 'inet6'). */
  async addresses(name: string): Promise<AddrInfo[]> {
    const rows = await this.json<{ addr_info?: AddrInfo[] }>(['addr', 'show', 'dev', name]);
    return rows.flatMap((r) => r.addr_info ?? []);
  }

  /** The IPv4 routes of the main table through link `name`. */
  async routes(name: string): Promise<RouteInfo[]> {
    const rows = await this.json<RouteInfo>(['route', 'show', 'dev', name]);
    return rows.map((r) => ({ ...r, dev: r.dev ?? name }));
  }

  /** Deletes link `name`; resolves false when it did not exist. */
  async deleteLink(name: string): Promise<boolean> {
    try {
      await this.run(['link', 'del', 'dev', name]);
      return true;
    } catch (err) {
      if (err instanceof IprouteError && /does not exist|Cannot find device/i.test(err.stderr)) return false;
      throw err;
    }
  }

  /** Sets an IPv4 sysctl of an interface (e.g. proxy_arp) through /proc, in the plugin's own namespace only. */
  async setIpv4ConfSysctl(ifname: string, key: string, value: string): Promise<void> {
    await this.setNetSysctl(`ipv4/conf/${ifname}/${key}`, value);
  }

  /** Sets an IPv6 per-interface sysctl (`conf` e.g. proxy_ndp, or `neigh` e.g. proxy_delay) through /proc, in the plugin's own namespace only. */
  async setIpv6Sysctl(section: 'conf' | 'neigh', ifname: string, key: string, value: string): Promise<void> {
    await this.setNetSysctl(`ipv6/${section}/${ifname}/${key}`, value);
  }

  private async setNetSysctl(path: string, value: string): Promise<void> {
    if (this.netns !== '') throw new Error(`sysctl net/${path}: only supported in the plugin's own namespace, not ${this.netns}`);
    await writeFile(`/proc/sys/net/${path}`, value);
  }
}
