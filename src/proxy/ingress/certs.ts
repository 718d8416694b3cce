/**
 * TLS for the ingress controller: which certificate answers which SNI name, from the `spec.tls`
 * entries of the served Ingresses and the Secrets they name.
 *
 * Contract:
 * - A Secret serves when it holds `tls.crt` and `tls.key` that Node accepts as a pair (type
 *   `kubernetes.io/tls`, or any type holding both keys, as ingress-nginx accepts). Contexts are
 *   built once per Secret resourceVersion.
 * - SNI lookup: the exact host of a `tls[].hosts` entry, then a `*.domain` entry for one more
 *   label, then the certificate of a `tls` entry without hosts (the "wildcard host setting" the
 *   API documentation speaks of), then the default certificate (a self-signed one the cluster
 *   generates, as ingress-nginx serves its "Fake Certificate"). Oldest Ingress first on
 *   conflicts.
 * - A host whose Secret is missing, unusable, or whose certificate does not name the host gets the
 *   default certificate, as ingress-nginx does, and a problem is reported for the Ingress.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Secret } from "kubernetes-types/core/v1.js";
import type { Ingress } from "kubernetes-types/networking/v1.js";
import { byAge } from "./routes.ts";

export interface PemPair {
  cert: string;
  key: string;
}

export interface CertificateProblem {
  ingress: Ingress;
  reason: string;
  message: string;
}

interface Loaded {
  version: string;
  pem?: PemPair;
  context?: SecureContext;
  certificate?: X509Certificate;
  error?: string;
}

type ObjectRef = { metadata?: { namespace?: string; name?: string } | undefined };

function keyOf(o: ObjectRef): string {
  return `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const value = data?.[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
}

export class Certificates {
  readonly #secrets = new Map<string, Secret>();
  readonly #loaded = new Map<string, Loaded>();
  readonly #default: SecureContext | undefined;
  readonly #defaultPem: PemPair | undefined;
  #exact = new Map<string, SecureContext>();
  #wildcard = new Map<string, SecureContext>();
  #catchAll: Loaded | undefined;
  /** Secret keys some served Ingress names: only their changes need a rebuild. */
  #wanted = new Set<string>();

  constructor(defaultCertificate: PemPair | undefined) {
    this.#default = defaultCertificate ? createSecureContext(defaultCertificate) : undefined;
    this.#defaultPem = defaultCertificate;
  }

  /** Returns whether a served Ingress uses this Secret (the table must then be rebuilt). */
  upsertSecret(secret: Secret): boolean {
    const key = keyOf(secret);
    this.#secrets.set(key, secret);
    return this.#wanted.has(key);
  }

  deleteSecret(ref: ObjectRef): boolean {
    const key = keyOf(ref);
    this.#secrets.delete(key);
    this.#loaded.delete(key);
    return this.#wanted.has(key);
  }

  /** Rebuilds the SNI table for these Ingresses; returns what is wrong with their TLS. */
  build(ingresses: readonly Ingress[]): CertificateProblem[] {
    const problems: CertificateProblem[] = [];
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    let catchAll: Loaded | undefined;
    const wanted = new Set<string>();
    for (const ing of [...ingresses].sort(byAge)) {
      const namespace = ing.metadata?.namespace ?? "";
      for (const tls of ing.spec?.tls ?? []) {
        if (!tls.secretName) continue;
        const secretKey = `${namespace}/${tls.secretName}`;
        wanted.add(secretKey);
        const loaded = this.#load(secretKey);
        if (loaded.context === undefined) {
          problems.push({
            ingress: ing,
            reason: "BadTLSSecret",
            message: `secret ${secretKey}: ${loaded.error ?? "unusable"}; serving the default certificate`,
          });
          continue;
        }
        const hosts = (tls.hosts ?? []).map((h) => h.toLowerCase());
        if (hosts.length === 0) catchAll ??= loaded;
        for (const host of hosts) {
          const isWildcard = host.startsWith("*.");
          const map = isWildcard ? wildcard : exact;
          const name = isWildcard ? host.slice(2) : host;
          if (map.has(name)) continue;
          if (!covers(loaded.certificate, host)) {
            problems.push({
              ingress: ing,
              reason: "BadTLSSecret",
              message: `secret ${secretKey}: its certificate is not valid for ${host}; serving the default certificate`,
            });
            continue;
          }
          map.set(name, loaded.context);
        }
      }
    }
    this.#exact = exact;
    this.#wildcard = wildcard;
    this.#catchAll = catchAll;
    this.#wanted = wanted;
    for (const key of this.#loaded.keys()) if (!wanted.has(key)) this.#loaded.delete(key);
    return problems;
  }

  /** The context for an SNI name (undefined: no certificate at all, the handshake fails). */
  contextFor(servername: string | undefined): SecureContext | undefined {
    const name = (servername ?? "").toLowerCase().replace(/\.$/, "");
    if (name !== "") {
      const found = this.#exact.get(name);
      if (found !== undefined) return found;
      const dot = name.indexOf(".");
      const wild = dot > 0 ? this.#wildcard.get(name.slice(dot + 1)) : undefined;
      if (wild !== undefined) return wild;
    }
    return this.#catchAll?.context ?? this.#default;
  }

  /**
   * The certificate for clients that send no SNI name (an IP address in the URL): a `tls` entry
   * without hosts, else the default one.
   */
  fallbackPem(): PemPair | undefined {
    return this.#catchAll?.pem ?? this.#defaultPem;
  }

  #load(secretKey: string): Loaded {
    const secret = this.#secrets.get(secretKey);
    if (secret === undefined) return { version: "", error: "not found" };
    const version = secret.metadata?.resourceVersion ?? "";
    const cached = this.#loaded.get(secretKey);
    if (cached !== undefined && cached.version === version) return cached;
    const cert = decode(secret.data, "tls.crt");
    const key = decode(secret.data, "tls.key");
    let loaded: Loaded;
    if (cert === undefined || key === undefined) {
      loaded = { version, error: "has no tls.crt and tls.key" };
    } else {
      try {
        loaded = {
          version,
          pem: { cert, key },
          context: createSecureContext({ cert, key }),
          certificate: new X509Certificate(cert),
        };
      } catch (err) {
        loaded = { version, error: `invalid certificate or key (${(err as Error).message})` };
      }
    }
    this.#loaded.set(secretKey, loaded);
    return loaded;
  }
}

/** Whether a certificate names a host (a wildcard host needs the same wildcard, or a SAN for it). */
function covers(certificate: X509Certificate | undefined, host: string): boolean {
  if (certificate === undefined) return false;
  if (!host.startsWith("*.")) return certificate.checkHost(host) !== undefined;
  // A label that no real host uses stands for the wildcard.
  return certificate.checkHost(`loopkube-wildcard-check.${host.slice(2)}`) !== undefined;
}
