/**
 * Registry credentials as the kubelet and Docker find them: a pod's `imagePullSecrets`
 * (`kubernetes.io/dockerconfigjson`: `{"auths": {host: {...}}}`, and the legacy
 * `kubernetes.io/dockercfg`: `{host: {...}}`) and the user's `~/.docker/config.json`
 * (`auths` only: credential helpers are not run). An entry holds `auth` (base64 of
 * `user:password`) or `username`/`password`, or an `identitytoken`.
 *
 * Keys match as the kubelet's credential keyring matches them: the scheme and any path are
 * dropped, `index.docker.io/v1/` and friends name Docker Hub, and a key may carry a `*.` glob
 * for one host label. Pure but for `dockerConfigCredentials`, which reads one file.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { DOCKER_HUB } from "./reference.ts";

export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token for the registry's token endpoint (docker's `identitytoken`). */
  identityToken?: string;
}

/** Registry host (as written, normalized) → credential; first match wins. */
export type Credentials = { host: string; credential: Credential }[];

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

function entryToCredential(e: AuthEntry): Credential | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  if (typeof e.auth === "string" && e.auth !== "") {
    const plain = Buffer.from(e.auth, "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon < 0) return undefined;
    return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  if (typeof e.identitytoken === "string" && e.identitytoken !== "")
    return {
      identityToken: e.identitytoken,
      ...(typeof e.username === "string" && { username: e.username }),
    };
  if (typeof e.username === "string")
    return { username: e.username, password: typeof e.password === "string" ? e.password : "" };
  return undefined;
}

/** A keyring key's host: scheme and path dropped, Docker Hub's many names folded. */
export function normalizeHost(key: string): string {
  let host = key.replace(/^[a-z]+:\/\//i, "");
  const slash = host.indexOf("/");
  if (slash >= 0) host = host.slice(0, slash);
  host = host.toLowerCase();
  if (
    host === "index.docker.io" ||
    host === "registry-1.docker.io" ||
    host === "registry.hub.docker.com"
  )
    return DOCKER_HUB;
  return host;
}

function fromAuths(auths: unknown): Credentials {
  const out: Credentials = [];
  if (typeof auths !== "object" || auths === null) return out;
  for (const [key, entry] of Object.entries(auths as Record<string, AuthEntry>)) {
    const credential = entryToCredential(entry);
    if (credential) out.push({ host: normalizeHost(key), credential });
  }
  return out;
}

/** Credentials in a Secret's data (base64 values, as the API serves them). */
export function secretCredentials(secret: {
  type?: string;
  data?: Record<string, string>;
}): Credentials {
  const decode = (key: string): unknown => {
    const v = secret.data?.[key];
    if (v === undefined) return undefined;
    try {
      return JSON.parse(Buffer.from(v, "base64").toString("utf8"));
    } catch {
      return undefined;
    }
  };
  if (secret.type === "kubernetes.io/dockerconfigjson")
    return fromAuths((decode(".dockerconfigjson") as { auths?: unknown } | undefined)?.auths);
  if (secret.type === "kubernetes.io/dockercfg") return fromAuths(decode(".dockercfg"));
  return [];
}

/** The `auths` of the user's Docker config (`$DOCKER_CONFIG/config.json` or `~/.docker/`). */
export function dockerConfigCredentials(
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): Credentials {
  const dir = env.DOCKER_CONFIG ?? join(home, ".docker");
  try {
    const parsed = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
      auths?: unknown;
    };
    return fromAuths(parsed.auths);
  } catch {
    return [];
  }
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.startsWith("*.")) return false;
  const [pHost, pPort] = pattern.slice(2).split(":");
  const [hHost = "", hPort] = host.split(":");
  const dot = hHost.indexOf(".");
  return dot > 0 && hHost.slice(dot + 1) === pHost && pPort === hPort;
}

/** The credential for a registry `domain` (as in an image reference), if any. */
export function credentialFor(credentials: Credentials, domain: string): Credential | undefined {
  const host = normalizeHost(domain);
  return credentials.find((c) => hostMatches(c.host, host))?.credential;
}
