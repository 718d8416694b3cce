/**
 * Serves a `FakeApi` over the Kubernetes REST paths, so that the HTTP client can be run through
 * the `ApiVerbs` conformance suite before the real API server exists. It routes just what the
 * client sends (`/api/v1/…`, `/apis/<g>/<v>/…`, `namespaces/<ns>/`, name, subresource; list,
 * watch, create, update, patch, delete, deletecollection) and answers errors as Status bodies.
 * It is a test fixture, not an API server: no discovery, no validation, no auth.
 *
 * @module
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { isStatusError, StatusError } from "../../api/errors.ts";
import {
  type DeleteOptions,
  type ListOptions,
  PATCH_CONTENT_TYPES,
  type PatchType,
  type ResourceRef,
} from "../../api/verbs.ts";
import type { FakeApi } from "./fake.ts";

export interface FakeServer {
  url: string;
  close(): Promise<void>;
}

interface Route {
  ref: ResourceRef;
  namespace: string;
  name: string | undefined;
}

function route(pathname: string): Route {
  const segs = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  let group = "";
  let version: string;
  let rest: string[];
  if (segs[0] === "api") {
    version = segs[1] ?? "";
    rest = segs.slice(2);
  } else if (segs[0] === "apis") {
    group = segs[1] ?? "";
    version = segs[2] ?? "";
    rest = segs.slice(3);
  } else throw new StatusError(404, "NotFound", "the server could not find the requested resource");
  let namespace = "";
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const ref: ResourceRef = { group, version, resource: rest[0] ?? "" };
  if (rest[2]) ref.subresource = rest[2];
  return { ref, namespace, name: rest[1] };
}

function listOptions(q: URLSearchParams): ListOptions {
  const o: ListOptions = {};
  const label = q.get("labelSelector");
  if (label) o.labelSelector = label;
  const field = q.get("fieldSelector");
  if (field) o.fieldSelector = field;
  const rv = q.get("resourceVersion");
  if (rv !== null) o.resourceVersion = rv;
  const limit = q.get("limit");
  if (limit) o.limit = Number(limit);
  const cont = q.get("continue");
  if (cont) o.continue = cont;
  return o;
}

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(text);
}

export async function serveFake(api: FakeApi): Promise<FakeServer> {
  const patchTypes = new Map(
    Object.entries(PATCH_CONTENT_TYPES).map(([type, ct]) => [ct, type as PatchType]),
  );
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const q = url.searchParams;
    const { ref, namespace, name } = route(url.pathname);
    const parsed = body ? JSON.parse(body) : undefined;
    const dryRun = q.get("dryRun") === "All";
    switch (req.method) {
      case "GET":
        if (name !== undefined) return send(res, 200, await api.get(ref, namespace, name));
        if (q.get("watch") === "true") {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.flushHeaders();
          const h = api.watch(
            ref,
            namespace,
            { ...listOptions(q), allowWatchBookmarks: q.get("allowWatchBookmarks") === "true" },
            (e) => res.write(`${JSON.stringify(e)}\n`),
          );
          res.on("close", () => h.stop());
          await h.done;
          res.end();
          return;
        }
        return send(res, 200, await api.list(ref, namespace, listOptions(q)));
      case "POST":
        return send(res, 201, await api.create(ref, namespace, parsed, { dryRun }));
      case "PUT":
        return send(res, 200, await api.update(ref, namespace, parsed, { dryRun }));
      case "PATCH": {
        const type = patchTypes.get(req.headers["content-type"] ?? "");
        if (!type) throw new StatusError(415, "UnsupportedMediaType", "unknown patch type");
        return send(
          res,
          200,
          await api.patch(ref, namespace, name ?? "", type, parsed, { dryRun }),
        );
      }
      case "DELETE": {
        const opts: DeleteOptions = {};
        if (parsed?.propagationPolicy) opts.propagationPolicy = parsed.propagationPolicy;
        if (parsed?.preconditions) opts.preconditions = parsed.preconditions;
        if (Array.isArray(parsed?.dryRun) && parsed.dryRun.includes("All")) opts.dryRun = true;
        if (name !== undefined) return send(res, 200, await api.delete(ref, namespace, name, opts));
        await api.deleteCollection(ref, namespace, { ...listOptions(q), ...opts });
        return send(res, 200, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
        });
      }
      default:
        throw new StatusError(405, "MethodNotAllowed", "method not allowed");
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((error: unknown) => {
        const e = isStatusError(error)
          ? error
          : new StatusError(500, "InternalError", String(error));
        if (res.headersSent) res.end();
        else send(res, e.code, e.toStatus());
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
