// The identity labels of a container's runtime labels (podman, Docker), as Cilium's
// workloads watcher and cilium-docker derive them.

/** The runtime label that carries a container's namespace (Kubernetes' pod namespace label). */
export const CONTAINER_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';

/**
 * The identity labels of a container's runtime labels, sorted: `container:<key>=<value>`,
 * and the namespace label as `k8s:io.kubernetes.pod.namespace=<value>`; with the namespace
 * ('' when the container has none). Keys and values are taken as they are: the caller
 * checks them, or the agent refuses them.
 */
export function containerIdentity(labels: Readonly<Record<string, string>>): { labels: string[]; namespace: string } {
  const out = new Set<string>();
  let namespace = '';
  for (const [k, v] of Object.entries(labels)) {
    if (k === CONTAINER_NAMESPACE_LABEL) {
      namespace = v;
      out.add(`k8s:${k}=${v}`);
    } else out.add(`container:${k}=${v}`);
  }
  return { labels: [...out].sort(), namespace };
}
