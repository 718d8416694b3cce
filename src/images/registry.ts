/**
 * A client of the OCI distribution API (`/v2/<name>/manifests/<ref>`, `/v2/<name>/blobs/<digest>`)
 * for one registry host, as containerd's resolver talks to it:
 *
 * - Scheme: HTTPS, but plain HTTP for loopback hosts and for hosts the caller names insecure.
 *   A token realm is held to the same rule.
 * - Auth: a request answered 401 is retried once after meeting the challenge. `Bearer`: a token
 *   from the realm for `repository:<name>:pull` (anonymous, or with the credential as HTTP basic
 *   auth, or an identity token as an OAuth2 refresh token), cached per repository until it
 *   expires. `Basic`: the credential itself.
 * - Manifests are asked for with every media type we read; the body's digest is checked against
 *   the digest asked for, or the `Docker-Content-Digest` the registry sent.
 * - Blobs are written to a caller-named partial file, resumed from its length with a `Range`
 *   request after a failure or a restart (a registry that answers 200 instead restarts it), and
 *   verified against their digest and size before the call returns; a mismatch deletes the file.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { stat, truncate, unlink } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { type Credential, type Credentials, credentialFor } from "./credentials.ts";
import { type Descriptor, MANIFEST_ACCEPT } from "./manifest.ts";
import { DOCKER_HUB, DOCKER_HUB_API, isLoopbackHost } from "./reference.ts";

export interface RegistryOptions {
  credentials?: Credentials;
  /** Registry hosts (`host:port`) reached over plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** Attempts per blob (each resumes where the last one stopped). */
  attempts?: number;
}

export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: "NotFound" | "Unauthorized" | "DigestMismatch" | "Unavailable",
  ) {
    super(message);
  }
}

interface Token {
  header: string;
  expires: number;
}

/** `Bearer realm="…",service="…"` → scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  const rest = space < 0 ? "" : header.slice(space + 1);
  for (const m of rest.matchAll(/([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g))
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
  return { scheme, params };
}

export function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export class RegistryClient {
  readonly base: string;
  private readonly credential: Credential | undefined;
  private readonly tokens = new Map<string, Token>();
  private readonly insecure: readonly string[];
  private readonly attempts: number;

  constructor(
    readonly domain: string,
    options: RegistryOptions = {},
  ) {
    this.insecure = options.insecureRegistries ?? [];
    this.attempts = options.attempts ?? 4;
    const host = domain === DOCKER_HUB ? DOCKER_HUB_API : domain;
    this.base = `${this.plainHttpAllowed(host) ? "http" : "https"}://${host}`;
    this.credential = credentialFor(options.credentials ?? [], domain);
  }

  private plainHttpAllowed(host: string): boolean {
    return isLoopbackHost(host) || this.insecure.includes(host);
  }

  /**
   * Whether the registry answers at all: `GET /v2/` within `timeoutMs`. Any HTTP answer (200,
   * 401, …) is an answer; a failed name lookup, a refused connection or the timeout throw a
   * `RegistryError` with code `Unavailable` and no status.
   */
  async ping(timeoutMs: number): Promise<void> {
    const url = `${this.base}/v2/`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      throw new RegistryError(`${url}: ${cause ?? (e as Error).message}`, undefined, "Unavailable");
    }
  }

  /** Fetches a manifest by tag or digest; returns its body, digest and media type. */
  async getManifest(
    path: string,
    reference: string,
  ): Promise<{ body: Buffer; digest: string; mediaType: string }> {
    const res = await this.request(path, `/v2/${path}/manifests/${reference}`, {
      Accept: MANIFEST_ACCEPT.join(", "),
    });
    if (res.status === 404) {
      await res.body?.cancel();
      throw new RegistryError("not found", 404, "NotFound");
    }
    if (!res.ok) throw await this.failure(res, "fetching the manifest");
    const body = Buffer.from(await res.arrayBuffer());
    const digest = `sha256:${sha256Hex(body)}`;
    const expected = reference.includes(":") ? reference : res.headers.get("docker-content-digest");
    if (expected?.startsWith("sha256:") && expected !== digest)
      throw new RegistryError(
        `manifest digest mismatch: expected ${expected}, got ${digest}`,
        undefined,
        "DigestMismatch",
      );
    const mediaType = res.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
    return { body, digest, mediaType };
  }

  /** Downloads a blob into `partial` (resuming it), verified; `onBytes` sees each new chunk. */
  async fetchBlob(
    path: string,
    desc: Pick<Descriptor, "digest" | "size">,
    partial: string,
    onBytes?: (n: number) => void,
  ): Promise<void> {
    const hex = desc.digest.replace(/^sha256:/, "");
    if (!desc.digest.startsWith("sha256:"))
      throw new RegistryError(`unsupported digest ${desc.digest}`);
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      let offset = await stat(partial).then(
        (s) => s.size,
        () => 0,
      );
      if (offset > desc.size) {
        await truncate(partial, 0);
        offset = 0;
      }
      const hash = createHash("sha256");
      if (offset > 0) {
        for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer);
        onBytes?.(attempt === 0 ? offset : 0);
      }
      if (offset < desc.size || desc.size === 0) {
        try {
          const res = await this.request(
            path,
            `/v2/${path}/blobs/${desc.digest}`,
            offset > 0 ? { Range: `bytes=${offset}-` } : {},
          );
          if (res.status === 404) {
            await res.body?.cancel();
            throw new RegistryError(`blob ${desc.digest} not found`, 404, "NotFound");
          }
          if (res.status === 401 || res.status === 403)
            throw await this.failure(res, "fetching a blob");
          if (res.status !== 200 && res.status !== 206)
            throw await this.failure(res, "fetching a blob");
          if (res.status === 200 && offset > 0) {
            // The registry ignored the Range: start over.
            onBytes?.(-offset);
            await res.body?.cancel();
            await unlink(partial).catch(() => {});
            attempt--;
            continue;
          }
          const flags = res.status === 200 ? "w" : "a";
          if (!res.body) throw new RegistryError("empty blob response");
          const counter = new Transform({
            transform(chunk: Buffer, _enc, done) {
              hash.update(chunk);
              onBytes?.(chunk.length);
              done(null, chunk);
            },
          });
          await pipeline(
            Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
            counter,
            createWriteStream(partial, { flags }),
          );
        } catch (e) {
          if (e instanceof RegistryError && e.code !== "Unavailable") throw e;
          lastError = e;
          continue;
        }
      }
      const size = await stat(partial).then(
        (s) => s.size,
        () => -1,
      );
      const got = hash.digest("hex");
      if (size !== desc.size || got !== hex) {
        await unlink(partial).catch(() => {});
        throw new RegistryError(
          `blob ${desc.digest}: ${size !== desc.size ? `size ${size}, expected ${desc.size}` : `digest mismatch, got sha256:${got}`}`,
          undefined,
          "DigestMismatch",
        );
      }
      return;
    }
    throw new RegistryError(
      `fetching blob ${desc.digest} failed after ${this.attempts} attempts: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
      undefined,
      "Unavailable",
    );
  }

  private async failure(res: Response, what: string): Promise<RegistryError> {
    const text = await res.text().catch(() => "");
    let detail = "";
    try {
      const errs = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors;
      if (errs?.length)
        detail = `: ${errs.map((e) => `${e.code ?? ""}: ${e.message ?? ""}`).join("; ")}`;
    } catch {}
    const code =
      res.status === 401 || res.status === 403
        ? "Unauthorized"
        : res.status === 404
          ? "NotFound"
          : "Unavailable";
    return new RegistryError(
      `${what}: unexpected status ${res.status} ${res.statusText}${detail}`,
      res.status,
      code,
    );
  }

  /** One GET with auth: a 401 is met once (token or basic), then the request is repeated. */
  private async request(
    repo: string,
    pathAndQuery: string,
    headers: Record<string, string>,
  ): Promise<Response> {
    const url = this.base + pathAndQuery;
    const send = async () => {
      const auth = this.authHeader(repo);
      try {
        return await fetch(url, {
          headers: { ...headers, ...(auth && { Authorization: auth }) },
          redirect: "follow",
        });
      } catch (e) {
        const cause = (e as { cause?: { message?: string } }).cause?.message;
        throw new RegistryError(
          `${url}: ${cause ?? (e as Error).message}`,
          undefined,
          "Unavailable",
        );
      }
    };
    let res = await send();
    if (res.status !== 401) return res;
    const challenge = res.headers.get("www-authenticate");
    await res.body?.cancel();
    if (!challenge) return res;
    await this.authenticate(repo, parseChallenge(challenge));
    res = await send();
    return res;
  }

  private authHeader(repo: string): string | undefined {
    const t = this.tokens.get(repo) ?? this.tokens.get("");
    if (t && t.expires > Date.now()) return t.header;
    return undefined;
  }

  private async authenticate(repo: string, c: { scheme: string; params: Record<string, string> }) {
    const cred = this.credential;
    if (c.scheme === "basic") {
      if (!cred?.username)
        throw new RegistryError(
          "authorization failed: no basic auth credentials",
          401,
          "Unauthorized",
        );
      const header = `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ""}`).toString("base64")}`;
      this.tokens.set("", { header, expires: Number.POSITIVE_INFINITY });
      return;
    }
    if (c.scheme !== "bearer" || !c.params.realm)
      throw new RegistryError(`unsupported auth challenge ${c.scheme}`, 401, "Unauthorized");
    const realm = new URL(c.params.realm);
    if (realm.protocol === "http:" && !this.plainHttpAllowed(realm.host))
      throw new RegistryError(
        `refusing a token realm over plain HTTP: ${realm.host}`,
        401,
        "Unauthorized",
      );
    const scope = `repository:${repo}:pull`;
    let res: Response;
    try {
      if (cred?.identityToken) {
        const form = new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: cred.identityToken,
          service: c.params.service ?? "",
          scope,
          client_id: "loopkube",
        });
        res = await fetch(realm, { method: "POST", body: form });
      } else {
        if (c.params.service) realm.searchParams.set("service", c.params.service);
        realm.searchParams.set("scope", scope);
        const basic = cred?.username
          ? `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ""}`).toString("base64")}`
          : undefined;
        res = await fetch(realm, { headers: basic ? { Authorization: basic } : {} });
      }
    } catch (e) {
      throw new RegistryError(
        `fetching a token from ${realm.origin}: ${(e as Error).message}`,
        undefined,
        "Unavailable",
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new RegistryError(
        `failed to fetch ${cred ? "oauth" : "anonymous"} token: unexpected status: ${res.status} ${res.statusText}`,
        res.status,
        "Unauthorized",
      );
    }
    const body = (await res.json()) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError("the token response holds no token", 401, "Unauthorized");
    const ttl = Math.max(60, body.expires_in ?? 60) * 1000;
    this.tokens.set(repo, { header: `Bearer ${token}`, expires: Date.now() + ttl - 5000 });
  }
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
