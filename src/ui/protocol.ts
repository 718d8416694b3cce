/**
 * What the web view's server sends its page: plain data, shared by the server (Node) and the page
 * (browser), so this file imports nothing.
 *
 * The stream (`/api/stream`, server-sent events) opens with one `snapshot` and then sends
 * `batch` messages: Services whose picture changed (whole, replacing the old), Services removed,
 * the DNS queries answered since the last batch, the proxy's traffic when it changed, and the
 * objects whose Events changed (the page fetches those of the selected object again).
 *
 * @module
 */

export interface DnsRecordView {
  /** Fully qualified, without the trailing dot. */
  name: string;
  type: "A" | "AAAA" | "SRV" | "CNAME";
  /** What the DNS answers now: addresses, SRV `priority weight port target`, or the CNAME target. */
  data: string[];
  /** Set on per-endpoint names: the endpoint's IP (the page fades it with its endpoint). */
  ip?: string;
}

export interface EndpointView {
  ip: string;
  /** The Pod behind it (`targetRef`), if any. */
  pod?: string;
  hostname?: string;
  node?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface PodView {
  name: string;
  ip?: string;
  phase: string;
  ready: boolean;
  terminating: boolean;
  /** Owners, nearest first: `ReplicaSet/my-app-5d9…`, `Deployment/my-app`. */
  owners: string[];
  /** StatefulSet pods: their ordinal. */
  ordinal?: number;
  /** PersistentVolumeClaims the pod mounts. */
  claims?: string[];
}

export interface PortView {
  name: string;
  port: number;
  protocol: string;
  targetPort?: string | number;
  nodePort?: number;
}

export interface ServiceView {
  /** `namespace/name` */
  key: string;
  namespace: string;
  name: string;
  type: string;
  clusterIP: string;
  headless: boolean;
  externalName?: string;
  sessionAffinity?: string;
  ports: PortView[];
  dns: DnsRecordView[];
  endpoints: EndpointView[];
  pods: PodView[];
}

export interface QueryView {
  seq: number;
  at: number;
  name: string;
  type: string;
  rcode: string;
  answers: number;
  latencyMs: number;
  /** The namespace of a cluster name (`…<ns>.svc.<domain>`, `<ns>.pod.<domain>`), else "". */
  namespace: string;
}

export interface TrafficView {
  /** `namespace/name` of the Service. */
  service: string;
  /** The Service port's name ("" when unnamed). */
  port: string;
  endpoint: string;
  connections: number;
}

export interface Snapshot {
  clusterDomain: string;
  services: ServiceView[];
  queries: QueryView[];
  traffic: TrafficView[];
  windowSeconds: number;
}

export interface Batch {
  upsert: ServiceView[];
  remove: string[];
  queries: QueryView[];
  traffic?: TrafficView[];
  /** `Kind/namespace/name` of objects whose Events changed. */
  events: string[];
}

export interface EventRow {
  type: string;
  reason: string;
  /** ms since the epoch of the last occurrence. */
  last: number;
  first: number;
  count: number;
  from: string;
  message: string;
}

export interface DigAnswer {
  /** The answer as `dig` prints it (header, flags, question, answer and additional sections). */
  text: string;
  rcode: string;
  aa: boolean;
  answers: { name: string; ttl: number; type: string; data: string }[];
}
