// Kubernetes object metadata of policy objects: name, namespace, uid, and the labels rules get from them.

import { LabelSourceK8s } from './labels.js';
import { IssueCollector, describeType, isObject, joinPath } from './validation-error.js';

/** Rule label keys (source k8s) that record which object a rule came from, as in Cilium. */
export const PolicyLabel = {
  name: 'io.cilium.k8s.policy.name',
  namespace: 'io.cilium.k8s.policy.namespace',
  derivedFrom: 'io.cilium.k8s.policy.derived-from',
  uid: 'io.cilium.k8s.policy.uid',
} as const;

/** Namespace of a namespaced policy object without metadata.namespace (as kubectl does). */
export const DefaultNamespace = 'default';

const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The validated metadata of a policy object. */
export interface ObjectMetadata {
  name?: string;
  namespace?: string;
  uid?: string;
}

/**
 * Validates `metadata` of an object of `kind` at `path` (a name is required; a namespace
 * only when `namespaced`, defaulting to `default`). Problems go to `issues`.
 */
export function validateObjectMetadata(meta: unknown, path: string, kind: string, namespaced: boolean, issues: IssueCollector): ObjectMetadata {
  const out: ObjectMetadata = {};
  if (!isObject(meta)) issues.add(path, meta === undefined ? 'is required (with a name)' : `must be an object, got ${describeType(meta)}`);
  else {
    if (typeof meta.name !== 'string' || meta.name === '') issues.add(joinPath(path, 'name'), meta.name === undefined ? 'is required' : `must be a non-empty string, got ${describeType(meta.name)}`);
    else if (meta.name.length > 253 || !DNS_SUBDOMAIN_RE.test(meta.name)) issues.add(joinPath(path, 'name'), `${JSON.stringify(meta.name)} is not a valid object name (lowercase DNS subdomain)`);
    else out.name = meta.name;
    if (meta.namespace !== undefined && meta.namespace !== null) {
      if (!namespaced) issues.add(joinPath(path, 'namespace'), `${kind} objects are not namespaced; remove metadata.namespace`);
      else if (typeof meta.namespace !== 'string' || meta.namespace.length > 63 || !DNS_LABEL_RE.test(meta.namespace)) {
        issues.add(joinPath(path, 'namespace'), `${describeType(meta.namespace)} is not a valid namespace name (lowercase DNS label)`);
      } else out.namespace = meta.namespace;
    }
    if (meta.uid !== undefined && meta.uid !== null) {
      if (typeof meta.uid !== 'string') issues.add(joinPath(path, 'uid'), `must be a string, got ${describeType(meta.uid)}`);
      else out.uid = meta.uid;
    }
  }
  if (namespaced) out.namespace ??= DefaultNamespace;
  return out;
}

/** The labels a rule derived from an object carries (derived-from, name, namespace, uid). */
export function objectRuleLabels(kind: string, meta: ObjectMetadata): string[] {
  const out = [`${LabelSourceK8s}:${PolicyLabel.derivedFrom}=${kind}`];
  if (meta.name) out.push(`${LabelSourceK8s}:${PolicyLabel.name}=${meta.name}`);
  if (meta.namespace) out.push(`${LabelSourceK8s}:${PolicyLabel.namespace}=${meta.namespace}`);
  if (meta.uid) out.push(`${LabelSourceK8s}:${PolicyLabel.uid}=${meta.uid}`);
  return out;
}
