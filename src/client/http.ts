/**
 * `ApiVerbs` over HTTP(S): what a component uses to talk to our API server, or to any
 * Kubernetes API server, from a kubeconfig (`kubeconfig.ts` turns one into the config below).
 *
 * - One keep-alive agent per client (TLS: CA, client certificate, bearer token); `close()`
 *   releases its sockets.
 * - JSON bodies; patches go with the content type of their type (`PATCH_CONTENT_TYPES`);
 *   deletes carry a `DeleteOptions` body; dry runs are `dryRun=All`.
 * - `namespace === ""` addresses a cluster-scoped resource, or all namespaces for a collection.
 * - A non-2xx response throws a `StatusError` built from the Status body (or synthesized from
 *   the HTTP code when the body is not a Status). A failure to connect throws the network error.
 * - `list` parses the body item by item as it arrives (`_listparse.ts`), so a list of hundreds
 *   of MB never becomes one string (V8's limit is ~512 MiB).
 * - `delete` returns the response body: the object, or a `Status` of `Success` for kinds whose
 *   registry answers that way; either way it is returned untouched.
 * - Watch: the response is read line by line (one JSON event per line, lines may arrive split
 *   across chunks) and each event handed to `onEvent` as is, ERROR events included. A non-2xx
 *   answer, or a failure to connect, is delivered as one ERROR event carrying a Status (the
 *   server's, or a synthesized 503), then the watch ends. `done` always resolves, never rejects.
 *   After `stop()` no event is delivered. Exceptions thrown by `onEvent` are ignored.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import * as http from "node:http";
import * as https from "node:https";
import { StringDecoder } from "node:string_decoder";
import type { Status } from "../api/errors.ts";
import type { KubeList, KubeObject, WatchEvent } from "../api/types.ts";
import {
  type ApiVerbs,
  type DeleteOptions,
  type ListOptions,
  PATCH_CONTENT_TYPES,
  type PatchOptions,
  type PatchType,
  type ResourceRef,
  type WatchHandle,
  type WatchOptions,
  type WriteOptions,
} from "../api/verbs.ts";
import { ListParser } from "./_listparse.ts";
import { errorFromResponse } from "./_status.ts";
import { type QueryValue, queryString, resourcePath } from "./_url.ts";

export interface HttpClientConfig {
  /** `https://127.0.0.1:6443`, optionally with a path prefix. `http:` is accepted for tests. */
  server: string;
  /** PEM contents (not file paths). */
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  token?: string;
  insecureSkipTlsVerify?: boolean;
  userAgent?: string;
}

const DEFAULT_USER_AGENT = "loopkube";

interface Request {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  contentType?: string;
  /** Names the request in synthesized error messages, e.g. `get configmaps x`. */
  what: string;
  /** A list: parsed item by item as it arrives (see `_listparse.ts`), never as one string. */
  list?: boolean;
}

export class HttpClient implements ApiVerbs {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly headers: Record<string, string>;

  constructor(config: HttpClientConfig) {
    this.base = new URL(config.server);
    if (this.base.protocol === "https:") {
      this.transport = https;
      const tls: https.AgentOptions = {
        keepAlive: true,
        rejectUnauthorized: !config.insecureSkipTlsVerify,
      };
      if (config.caCert) tls.ca = config.caCert;
      if (config.clientCert) tls.cert = config.clientCert;
      if (config.clientKey) tls.key = config.clientKey;
      this.agent = new https.Agent(tls);
    } else if (this.base.protocol === "http:") {
      this.transport = http;
      this.agent = new http.Agent({ keepAlive: true });
    } else {
      throw new Error(`unsupported server URL scheme: ${this.base.protocol}`);
    }
    this.headers = {
      Accept: "application/json",
      "User-Agent": config.userAgent ?? DEFAULT_USER_AGENT,
    };
    if (config.token) this.headers.Authorization = `Bearer ${config.token}`;
  }

  /** Destroys every socket of this client: idle keep-alive ones, in-flight requests, watches. */
  close(): void {
    this.agent.destroy();
  }

  async get(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject> {
    return (await this.send({
      method: "GET",
      path: resourcePath(ref, namespace, name),
      what: `get ${ref.resource} ${name}`,
    })) as KubeObject;
  }

  async list(ref: ResourceRef, namespace: string, options: ListOptions = {}): Promise<KubeList> {
    return (await this.send({
      method: "GET",
      path: resourcePath(ref, namespace),
      query: listQuery(options),
      what: `get ${ref.resource}`,
      list: true,
    })) as KubeList;
  }

  async create(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options: WriteOptions = {},
  ): Promise<KubeObject> {
    // A subresource is created on its parent (pods/binding, pods/eviction, …).
    const path = ref.subresource
      ? resourcePath(ref, namespace, object.metadata?.name ?? "")
      : resourcePath(ref, namespace);
    return (await this.send({
      method: "POST",
      path,
      query: writeQuery(options),
      body: object,
      contentType: "application/json",
      what: `post ${ref.resource}`,
    })) as KubeObject;
  }

  async update(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options: WriteOptions = {},
  ): Promise<KubeObject> {
    const name = object.metadata?.name ?? "";
    return (await this.send({
      method: "PUT",
      path: resourcePath(ref, namespace, name),
      query: writeQuery(options),
      body: object,
      contentType: "application/json",
      what: `put ${ref.resource} ${name}`,
    })) as KubeObject;
  }

  async patch(
    ref: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<KubeObject> {
    return (await this.send({
      method: "PATCH",
      path: resourcePath(ref, namespace, name),
      query: { ...writeQuery(options), force: options.force ? true : undefined },
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      what: `patch ${ref.resource} ${name}`,
    })) as KubeObject;
  }

  async delete(
    ref: ResourceRef,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): Promise<KubeObject> {
    return (await this.send({
      method: "DELETE",
      path: resourcePath(ref, namespace, name),
      body: deleteBody(options),
      contentType: "application/json",
      what: `delete ${ref.resource} ${name}`,
    })) as KubeObject;
  }

  async deleteCollection(
    ref: ResourceRef,
    namespace: string,
    options: ListOptions & DeleteOptions = {},
  ): Promise<void> {
    await this.send({
      method: "DELETE",
      path: resourcePath(ref, namespace),
      query: listQuery(options),
      body: deleteBody(options),
      contentType: "application/json",
      what: `delete ${ref.resource}`,
    });
  }

  watch(
    ref: ResourceRef,
    namespace: string,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
  ): WatchHandle {
    let stopped = false;
    let req: http.ClientRequest | undefined;
    let response: IncomingMessage | undefined;
    // Destroying without an error ends the exchange quietly; an AbortSignal would instead raise
    // an AbortError on a socket that may already be back in the keep-alive pool.
    const stop = () => {
      stopped = true;
      if (response) response.destroy();
      else req?.destroy();
    };
    const deliver = (event: WatchEvent) => {
      if (stopped) return;
      try {
        onEvent(event);
      } catch {
        // See the module header: a consumer's exception does not end the watch.
      }
    };
    const what = `watch ${ref.resource}`;
    const query = {
      ...listQuery(options),
      watch: true,
      allowWatchBookmarks: options.allowWatchBookmarks ? true : undefined,
      timeoutSeconds: options.timeoutSeconds,
    };
    const done = new Promise<void>((resolve) => {
      req = this.transport.request(this.url(resourcePath(ref, namespace), query), {
        method: "GET",
        agent: this.agent,
        headers: this.headers,
      });
      req.on("error", (error) => {
        if (!stopped) deliver(errorEvent(503, "ServiceUnavailable", `${what}: ${error.message}`));
        resolve();
      });
      req.on("close", () => {
        if (!response) resolve();
      });
      req.on("response", (res) => {
        response = res;
        res.on("close", () => resolve());
        res.on("error", () => resolve());
        if (!isOk(res)) {
          void readBody(res).then(
            (text) => {
              const e = errorFromResponse(res.statusCode ?? 0, text, what);
              deliver({ type: "ERROR", object: e.toStatus() as unknown as KubeObject });
              resolve();
            },
            () => resolve(),
          );
          return;
        }
        streamLines(res, (line) => {
          if (stopped) return;
          let event: WatchEvent;
          try {
            event = JSON.parse(line) as WatchEvent;
          } catch {
            const message = `${what}: cannot decode watch event: ${line.slice(0, 100)}`;
            deliver(errorEvent(500, "InternalError", message));
            stop();
            return;
          }
          deliver(event);
        });
      });
      req.end();
    });
    return { stop, done };
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private url(path: string, query?: Record<string, QueryValue>): URL {
    const prefix = this.base.pathname.replace(/\/+$/, "");
    return new URL(`${prefix}${path}${query ? queryString(query) : ""}`, this.base);
  }

  private send(r: Request): Promise<unknown> {
    const payload =
      r.body === undefined
        ? undefined
        : typeof r.body === "string"
          ? r.body
          : JSON.stringify(r.body);
    const headers: Record<string, string> = { ...this.headers };
    if (payload !== undefined) {
      headers["Content-Type"] = r.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = this.transport.request(this.url(r.path, r.query), {
        method: r.method,
        agent: this.agent,
        headers,
      });
      req.on("error", reject);
      req.on("response", (res) => {
        if (r.list && isOk(res)) {
          readList(res).then(resolve, (error: unknown) =>
            reject(
              error instanceof SyntaxError
                ? new Error(`${r.what}: response is not a JSON list`, { cause: error })
                : error,
            ),
          );
          return;
        }
        readBody(res).then((text) => {
          if (!isOk(res)) {
            reject(errorFromResponse(res.statusCode ?? 0, text, r.what));
            return;
          }
          if (text === "") {
            resolve(undefined);
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch (error) {
            reject(new Error(`${r.what}: response is not JSON`, { cause: error }));
          }
        }, reject);
      });
      req.end(payload);
    });
  }
}

export function createHttpClient(config: HttpClientConfig): HttpClient {
  return new HttpClient(config);
}

function isOk(res: IncomingMessage): boolean {
  const code = res.statusCode ?? 0;
  return code >= 200 && code < 300;
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

/** Parses a list body chunk by chunk; a malformed chunk stops reading (the socket is dropped). */
function readList(res: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parser = new ListParser();
    res.on("data", (c: Buffer) => {
      try {
        parser.push(c);
      } catch (error) {
        res.destroy();
        reject(error);
      }
    });
    res.on("end", () => {
      try {
        resolve(parser.end());
      } catch (error) {
        reject(error);
      }
    });
    res.on("error", reject);
  });
}

/** Calls `onLine` for every non-empty line; bytes of one character may span chunks. */
function streamLines(res: IncomingMessage, onLine: (line: string) => void): void {
  const decoder = new StringDecoder("utf8");
  let buffer = "";
  const drain = (final: boolean) => {
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onLine(line);
      nl = buffer.indexOf("\n");
    }
    if (final && buffer.trim()) {
      onLine(buffer.trim());
      buffer = "";
    }
  };
  res.on("data", (chunk: Buffer) => {
    buffer += decoder.write(chunk);
    drain(false);
  });
  res.on("end", () => {
    buffer += decoder.end();
    drain(true);
  });
}

function errorEvent(code: number, reason: Status["reason"], message: string): WatchEvent {
  const status: Status = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    code,
  };
  if (reason) status.reason = reason;
  return { type: "ERROR", object: status as unknown as KubeObject };
}

function listQuery(o: ListOptions): Record<string, QueryValue> {
  return {
    labelSelector: o.labelSelector,
    fieldSelector: o.fieldSelector,
    resourceVersion: o.resourceVersion,
    limit: o.limit,
    continue: o.continue,
  };
}

function writeQuery(o: WriteOptions): Record<string, QueryValue> {
  return {
    dryRun: o.dryRun ? "All" : undefined,
    fieldManager: o.fieldManager,
    fieldValidation: o.fieldValidation,
  };
}

function deleteBody(o: DeleteOptions): Record<string, unknown> {
  const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
  if (o.propagationPolicy) body.propagationPolicy = o.propagationPolicy;
  if (o.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = o.gracePeriodSeconds;
  if (o.preconditions) body.preconditions = o.preconditions;
  if (o.dryRun) body.dryRun = ["All"];
  return body;
}
