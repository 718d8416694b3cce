/**
 * The ingress routing table: from the Ingresses this controller serves to the backend of one
 * request, by its host and path, as the Ingress specification defines matching.
 *
 * Contract (pure; no sockets, no clock):
 * - Hosts: a rule's host matches the request's host exactly (case-insensitive, port and trailing
 *   dot ignored); `*.example.com` matches one more label (`a.example.com`, not
 *   `a.b.example.com` nor `example.com`); a rule without host matches every host.
 * - Paths: `Exact` matches the path as is; `Prefix` matches element by element on `/`
 *   (`/foo` matches `/foo` and `/foo/bar`, never `/foobar`; a trailing `/` in the rule is
 *   ignored; `/` matches everything); `ImplementationSpecific` is treated as `Prefix`, an empty
 *   path as `/`. The longest matching path wins; at equal length `Exact` wins over `Prefix`.
 * - Rules are searched host-specific first: exact host, then wildcard host, then rules without
 *   a host; the first of those with a matching path decides (as Gateway API ranks a hostname
 *   match above a hostless one).
 * - A request matching no path goes to the default backend of the oldest Ingress with rules for
 *   its host that has one; otherwise to the oldest served Ingress's `spec.defaultBackend`;
 *   otherwise nowhere (the controller answers 404).
 * - Conflicts (the same host, path and type in two Ingresses) go to the oldest Ingress
 *   (creation time, then namespace/name), as ingress-nginx resolves them.
 * - Request paths are matched in normalized form (dot segments resolved, `//` merged), so that
 *   `/public/../admin` cannot reach a backend through the `/public` rule.
 *
 * @module
 */
import type { Ingress, IngressBackend } from "kubernetes-types/networking/v1.js";

export interface ServiceBackend {
  kind: "service";
  namespace: string;
  name: string;
  /** The Service's port, by number or by name. */
  port: number | string;
}

export interface ResourceBackend {
  kind: "resource";
  namespace: string;
  /** `Kind.group/name`, for messages: loopkube serves no resource backends. */
  ref: string;
}

export type Backend = ServiceBackend | ResourceBackend;

export interface RouteMatch {
  backend: Backend;
  /** `namespace/name` of the Ingress the backend comes from. */
  ingress: string;
}

interface Entry extends RouteMatch {
  /** The rule's path, normalized: no trailing `/` for prefixes (but `/` itself). */
  path: string;
  exact: boolean;
  rank: number;
}

class HostRoutes {
  readonly exact = new Map<string, Entry>();
  prefixes: Entry[] = [];
  defaultBackend: RouteMatch | undefined;

  add(entry: Entry): void {
    if (entry.exact) {
      if (!this.exact.has(entry.path)) this.exact.set(entry.path, entry);
    } else this.prefixes.push(entry);
  }

  /** Sorts prefixes longest first, older Ingresses first among equals. */
  seal(): void {
    this.prefixes.sort((a, b) => b.path.length - a.path.length || a.rank - b.rank);
  }

  match(path: string): RouteMatch | undefined {
    const exact = this.exact.get(path);
    if (exact !== undefined) return exact;
    for (const p of this.prefixes) if (prefixMatches(p.path, path)) return p;
    return undefined;
  }
}

/** Element-wise prefix match of a normalized rule path against a normalized request path. */
export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === "/") return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47);
}

/** The host part of a Host header, lower-case, without port or trailing dot. */
export function normalizeHost(header: string): string {
  let host = header.trim().toLowerCase();
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    host = end < 0 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(":");
    if (colon >= 0) host = host.slice(0, colon);
  }
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

/**
 * The path of a request target, for matching: query and fragment dropped, `.` and `..` segments
 * resolved, runs of `/` merged. An absolute-form target (`http://host/path`) yields its path.
 */
export function normalizePath(target: string): string {
  let raw = target;
  const cut = raw.search(/[?#]/);
  if (cut >= 0) raw = raw.slice(0, cut);
  if (!raw.startsWith("/")) {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(raw);
    raw = scheme ? raw.slice(scheme[0].length) || "/" : `/${raw}`;
  }
  const out: string[] = [];
  const segments = raw.split("/");
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] as string;
    const last = i === segments.length - 1;
    const lower = s.toLowerCase();
    if (s === "" && !last) continue;
    if (s === "." || lower === "%2e") {
      if (last) out.push("");
      continue;
    }
    if (s === ".." || lower === ".%2e" || lower === "%2e." || lower === "%2e%2e") {
      out.pop();
      if (last) out.push("");
      continue;
    }
    out.push(s);
  }
  return `/${out.join("/")}`;
}

function backendOf(b: IngressBackend | undefined, namespace: string): Backend | undefined {
  if (b?.service !== undefined) {
    const port = b.service.port?.name || b.service.port?.number;
    if (port === undefined) return undefined;
    return { kind: "service", namespace, name: b.service.name, port };
  }
  if (b?.resource !== undefined) {
    const group = b.resource.apiGroup ? `.${b.resource.apiGroup}` : "";
    return { kind: "resource", namespace, ref: `${b.resource.kind}${group}/${b.resource.name}` };
  }
  return undefined;
}

function rulePath(path: string | undefined, type: string): { path: string; exact: boolean } {
  const p = path === undefined || path === "" ? "/" : path;
  if (type === "Exact") return { path: p, exact: true };
  return { path: p.length > 1 && p.endsWith("/") ? p.replace(/\/+$/, "") || "/" : p, exact: false };
}

/** `namespace/name`. */
export function ingressKey(ing: Ingress): string {
  return `${ing.metadata?.namespace ?? ""}/${ing.metadata?.name ?? ""}`;
}

/** Oldest first, then by namespace/name: the order conflicts are decided in. */
export function byAge(a: Ingress, b: Ingress): number {
  const ta = a.metadata?.creationTimestamp ?? "";
  const tb = b.metadata?.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = ingressKey(a);
  const kb = ingressKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export class RouteTable {
  readonly #hosts = new Map<string, HostRoutes>();
  /** Keyed by the part after `*.`. */
  readonly #wildcards = new Map<string, HostRoutes>();
  readonly #anyHost = new HostRoutes();
  #fallback: RouteMatch | undefined;

  /** The table of these Ingresses (any order; they are sorted by age here). */
  static build(ingresses: readonly Ingress[]): RouteTable {
    const table = new RouteTable();
    const sorted = [...ingresses].sort(byAge);
    for (const [rank, ing] of sorted.entries()) table.#add(ing, rank);
    for (const g of table.#groups()) g.seal();
    return table;
  }

  /** The backend for a request, or undefined when nothing (not even a default) applies. */
  match(host: string, path: string): RouteMatch | undefined {
    const specific = this.#hosts.get(host) ?? this.#wildcardFor(host);
    const found = specific?.match(path) ?? this.#anyHost.match(path);
    if (found !== undefined) return found;
    return specific?.defaultBackend ?? this.#fallback;
  }

  #wildcardFor(host: string): HostRoutes | undefined {
    const dot = host.indexOf(".");
    if (dot <= 0 || this.#wildcards.size === 0) return undefined;
    return this.#wildcards.get(host.slice(dot + 1));
  }

  *#groups(): Iterable<HostRoutes> {
    yield* this.#hosts.values();
    yield* this.#wildcards.values();
    yield this.#anyHost;
  }

  #group(host: string): HostRoutes {
    if (host === "") return this.#anyHost;
    const map = host.startsWith("*.") ? this.#wildcards : this.#hosts;
    const key = host.startsWith("*.") ? host.slice(2) : host;
    let g = map.get(key);
    if (g === undefined) {
      g = new HostRoutes();
      map.set(key, g);
    }
    return g;
  }

  #add(ing: Ingress, rank: number): void {
    const namespace = ing.metadata?.namespace ?? "";
    const key = ingressKey(ing);
    const backend = backendOf(ing.spec?.defaultBackend, namespace);
    const fallback = backend === undefined ? undefined : { backend, ingress: key };
    if (this.#fallback === undefined) this.#fallback = fallback;
    for (const rule of ing.spec?.rules ?? []) {
      const host = (rule.host ?? "").toLowerCase();
      const group = this.#group(host);
      if (host !== "" && group.defaultBackend === undefined) group.defaultBackend = fallback;
      for (const p of rule.http?.paths ?? []) {
        const target = backendOf(p.backend, namespace);
        if (target === undefined) continue;
        group.add({ ...rulePath(p.path, p.pathType), backend: target, ingress: key, rank });
      }
    }
  }
}
