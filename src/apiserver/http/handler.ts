/**
 * The HTTP face of the registry: parses a request (route, query, body, Accept), calls the verb,
 * and writes the representation the client negotiated. Authentication happens before this (see
 * `server.ts`); streaming verbs (watch, and subresources such as pods/log and pods/exec that other
 * components register) are handed their request and response.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, methodNotAllowed, notFound, StatusError } from "../../api/errors.ts";
import { optionalQueryFlag, queryFlag } from "../../api/query.ts";
import type { KubeObject } from "../../api/types.ts";
import type {
  DeleteOptions,
  ListOptions,
  PatchOptions,
  ResourceRef,
  WatchOptions,
  WriteOptions,
} from "../../api/verbs.ts";
import { requestUser } from "../authn.ts";
import { ConversionPending } from "../crd/index.ts";
import { METRICS_GROUP, METRICS_RESOURCES, type MetricsProvider } from "../metrics.ts";
import type { Registry } from "../registry/index.ts";
import { resourceNotServed } from "../registry/index.ts";
import type { ResourceInfo } from "../resources.ts";
import type { BodyJob, JobOptions } from "./_bodyjob.ts";
import { warningHeader, warningsTo } from "./_warnings.ts";
import { type BodyPool, BodyPoolSaturated } from "./bodypool.ts";
import {
  decodeObject,
  decodePatch,
  negotiate,
  type ProtobufDecoder,
  parseJson,
  patchTypeOf,
  readBody,
  wantsYaml,
} from "./codec.ts";
import {
  AGGREGATED_TYPES,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregated,
} from "./discovery.ts";
import { answerHealth, type HealthCheck } from "./health.ts";
import { tooManyRequests } from "./inflight.ts";
import { serveMetrics } from "./metrics.ts";
import { OFFLOAD_BYTES, offloadBody } from "./offload.ts";
import { sendError, sendJson, sendJsonList, sendText } from "./respond.ts";
import { route } from "./route.ts";
import {
  parseIncludeObject,
  renderList,
  renderObject,
  streamList,
  type ViewOptions,
} from "./views.ts";
import { serveWatch } from "./watch.ts";

/** A handler for a streaming subresource such as `pods/log` or `pods/exec`. */
export type SubresourceHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  target: { namespace: string; name: string; query: URLSearchParams },
) => void | Promise<void>;

export interface OpenApiProvider {
  /** Answers a request under `/openapi/v3` or for `/openapi/v2`; undefined when not served. */
  respond(
    pathname: string,
    query: URLSearchParams,
    accept?: string,
  ): { status: number; headers: Record<string, string>; body: string | Uint8Array } | undefined;
}

export interface HandlerOptions {
  registry: Registry;
  version: object;
  serverAddress: () => string;
  now: () => number;
  /** The checks of `/readyz` beyond `ping`. */
  readiness: () => HealthCheck[];
  openapi?: OpenApiProvider;
  protobuf?: ProtobufDecoder;
  /** Keyed `<resource>/<subresource>`, e.g. `pods/log`. */
  subresources?: Map<string, SubresourceHandler>;
  /** Serves `metrics.k8s.io` while it answers a provider (set once the node agent runs). */
  metrics?: () => MetricsProvider | undefined;
  /**
   * Aggregated API servers (APIServices backed by a Service): the resources of the available
   * ones, for discovery, and whether one owns a group-version (its local resources step aside).
   */
  aggregation?: {
    resources(): readonly ResourceInfo[];
    delegated(group: string, version: string): boolean;
  };
  /** The custom resources served from CRDs, for discovery. */
  custom?: () => readonly ResourceInfo[];
  /** Worker threads for bodies over {@link OFFLOAD_BYTES}; without, every body is parsed here. */
  bodies?: Pick<BodyPool, "run" | "saturated">;
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`${name}: Invalid value: "${v}": must be an integer`);
  return n;
}

function listOptions(q: URLSearchParams): ListOptions {
  const o: ListOptions = {};
  const ls = q.get("labelSelector");
  const fs = q.get("fieldSelector");
  const rv = q.get("resourceVersion");
  const cont = q.get("continue");
  const limit = intParam(q, "limit");
  if (ls) o.labelSelector = ls;
  if (fs) o.fieldSelector = fs;
  if (rv !== null) o.resourceVersion = rv;
  if (cont) o.continue = cont;
  if (limit !== undefined) o.limit = limit;
  return o;
}

function watchOptions(q: URLSearchParams): WatchOptions {
  const o: WatchOptions = listOptions(q);
  if (queryFlag(q, "allowWatchBookmarks")) o.allowWatchBookmarks = true;
  const t = intParam(q, "timeoutSeconds");
  if (t !== undefined) o.timeoutSeconds = t;
  const initial = optionalQueryFlag(q, "sendInitialEvents");
  if (initial !== undefined) o.sendInitialEvents = initial;
  const match = q.get("resourceVersionMatch");
  if (match) o.resourceVersionMatch = match;
  return o;
}

function writeOptions(q: URLSearchParams, res: ServerResponse): WriteOptions {
  const o: WriteOptions = { warn: warningsTo(res) };
  const dryRun = q.getAll("dryRun");
  if (dryRun.length > 0) {
    if (dryRun.some((d) => d !== "All"))
      throw badRequest(`dryRun: Unsupported value: "${dryRun[0]}": supported values: "All"`);
    o.dryRun = true;
  }
  const fm = q.get("fieldManager");
  if (fm) o.fieldManager = fm;
  const fv = q.get("fieldValidation");
  if (fv) {
    if (fv !== "Strict" && fv !== "Warn" && fv !== "Ignore") {
      throw badRequest(
        `fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`,
      );
    }
    o.fieldValidation = fv;
  }
  return o;
}

/** What of a write's options travels to a body worker. */
function jobOptions(o: PatchOptions): JobOptions {
  const j: JobOptions = {};
  if (o.dryRun) j.dryRun = true;
  if (o.fieldManager) j.fieldManager = o.fieldManager;
  if (o.fieldValidation) j.fieldValidation = o.fieldValidation;
  if (o.force) j.force = true;
  return j;
}

function deleteOptions(q: URLSearchParams, body: unknown): DeleteOptions {
  const o: DeleteOptions = {};
  if (body !== undefined) {
    const parsed = body as Record<string, unknown>;
    if (parsed && typeof parsed === "object") {
      const pp = parsed["propagationPolicy"];
      if (pp === "Background" || pp === "Foreground" || pp === "Orphan") o.propagationPolicy = pp;
      else if (pp !== undefined && pp !== null) {
        throw badRequest(
          `propagationPolicy: Unsupported value: "${String(pp)}": supported values: "Foreground", "Background", "Orphan"`,
        );
      }
      // The deprecated flag: true orphans, false deletes dependents (in the background).
      const orphan = parsed["orphanDependents"];
      if (typeof orphan === "boolean" && !o.propagationPolicy)
        o.propagationPolicy = orphan ? "Orphan" : "Background";
      if (typeof parsed["gracePeriodSeconds"] === "number")
        o.gracePeriodSeconds = parsed["gracePeriodSeconds"];
      const pre = parsed["preconditions"] as DeleteOptions["preconditions"] | undefined;
      if (pre && typeof pre === "object") o.preconditions = pre;
      if (Array.isArray(parsed["dryRun"]) && parsed["dryRun"].includes("All")) o.dryRun = true;
    }
  }
  const pp = q.get("propagationPolicy");
  if (pp === "Background" || pp === "Foreground" || pp === "Orphan") o.propagationPolicy = pp;
  const orphan = q.get("orphanDependents");
  if ((orphan === "true" || orphan === "false") && !o.propagationPolicy)
    o.propagationPolicy = orphan === "true" ? "Orphan" : "Background";
  const grace = intParam(q, "gracePeriodSeconds");
  if (grace !== undefined) o.gracePeriodSeconds = grace;
  if (q.getAll("dryRun").includes("All")) o.dryRun = true;
  return o;
}

export function createHandler(options: HandlerOptions) {
  const { registry } = options;
  const extra = (): readonly ResourceInfo[] => {
    const local = [
      ...(options.metrics?.() ? METRICS_RESOURCES : []),
      ...(options.custom?.() ?? []),
    ];
    const aggregation = options.aggregation;
    if (!aggregation) return local;
    return [
      ...local.filter((r) => !aggregation.delegated(r.group, r.version)),
      ...aggregation.resources(),
    ];
  };

  /**
   * A request's body, parsed (and for a create or update, typed-decoded) as `job` says: on this
   * thread when small, by the body pool when over {@link OFFLOAD_BYTES}. A DeleteOptions body
   * (`parse`) may be empty (undefined).
   */
  async function bodyOf(
    req: IncomingMessage,
    job: Omit<BodyJob, "body" | "contentType" | "snapshot">,
    warn?: (message: string) => void,
  ): Promise<unknown> {
    const pool = options.bodies;
    if (pool && Number(req.headers["content-length"] ?? 0) > OFFLOAD_BYTES && pool.saturated()) {
      throw new BodyPoolSaturated("body workers are busy");
    }
    const body = await readBody(req);
    const contentType = req.headers["content-type"];
    if (job.verb === "parse" && body.length === 0) return undefined;
    const parse = () => {
      switch (job.verb) {
        case "parse":
          return parseJson(body);
        case "patch":
          return decodePatch(body, contentType).patch;
        default:
          return decodeObject(body, contentType, options.protobuf);
      }
    };
    if (!pool || body.length <= OFFLOAD_BYTES) return parse();
    return offloadBody(pool, registry, { ...job, body, contentType }, { parse, warn });
  }

  async function handleResource(
    req: IncomingMessage,
    res: ServerResponse,
    r: Extract<ReturnType<typeof route>, { type: "resource" }>,
    q: URLSearchParams,
  ): Promise<void> {
    const ref: ResourceRef = { group: r.group, version: r.version, resource: r.resource };
    if (r.subresource) ref.subresource = r.subresource;
    const method = req.method ?? "GET";

    const deprecated = registry.resolve(ref).custom?.deprecationWarning;
    // kube warns of every request to a deprecated custom resource version, whatever the verb.
    if (deprecated !== undefined) res.appendHeader("Warning", warningHeader(deprecated));
    if (r.subresource && r.name) {
      const custom = options.subresources?.get(`${r.resource}/${r.subresource}`);
      if (custom) {
        registry.resolve(ref);
        await custom(req, res, { namespace: r.namespace, name: r.name, query: q });
        return;
      }
    }

    const info = registry.resolve(ref);
    const accept = req.headers.accept;
    const yaml = wantsYaml(accept);
    const view = negotiate(accept);
    const viewOptions = (): ViewOptions => ({
      view: r.subresource === "scale" ? "object" : view,
      strategy: registry.ctx.strategy(info),
      now: options.now(),
      includeObject: parseIncludeObject(q.get("includeObject")) ?? "Metadata",
    });
    const ns = info.namespaced ? r.namespace : "";
    if (info.namespaced && r.namespace === "" && r.name !== undefined) {
      throw resourceNotServed();
    }

    if (r.name === undefined) {
      switch (method) {
        case "GET": {
          if (queryFlag(q, "watch")) {
            const w = watchOptions(q);
            serveWatch(req, res, { registry, ref, namespace: ns, options: w, view: viewOptions() });
            return;
          }
          const list = await registry.list(ref, ns, listOptions(q));
          if (yaml) sendJson(res, 200, renderList(list, viewOptions()), { yaml });
          else await sendJsonList(res, 200, streamList(list, viewOptions()));
          return;
        }
        case "POST": {
          const wo = writeOptions(q, res);
          const obj = (await bodyOf(
            req,
            { verb: "create", ref, namespace: ns, options: jobOptions(wo) },
            wo.warn,
          )) as KubeObject;
          const created = await registry.create(ref, ns, obj, { ...wo, user: requestUser(req) });
          sendJson(res, 201, renderObject(created, viewOptions()), { yaml });
          return;
        }
        case "DELETE": {
          const body = await bodyOf(req, { verb: "parse", ref, namespace: ns, options: {} });
          registry.deleteCollectionSync(ref, ns, {
            ...listOptions(q),
            ...deleteOptions(q, body),
            warn: warningsTo(res),
          });
          sendJson(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" });
          return;
        }
        default:
          throw methodNotAllowed(method, info.resource);
      }
    }

    const name = r.name;
    switch (method) {
      case "GET": {
        const obj = await registry.get(ref, ns, name);
        sendJson(res, 200, renderObject(obj, viewOptions()), { yaml });
        return;
      }
      case "PUT": {
        const wo = writeOptions(q, res);
        const obj = (await bodyOf(
          req,
          { verb: "update", ref, namespace: ns, name, options: jobOptions(wo) },
          wo.warn,
        )) as KubeObject;
        const updated = await registry.update(ref, ns, obj, {
          ...wo,
          name,
          user: requestUser(req),
        });
        sendJson(res, 200, renderObject(updated, viewOptions()), { yaml });
        return;
      }
      case "PATCH": {
        const type = patchTypeOf(req.headers["content-type"]);
        const po: PatchOptions = writeOptions(q, res);
        if (queryFlag(q, "force")) po.force = true;
        const patch = await bodyOf(req, {
          verb: "patch",
          ref,
          namespace: ns,
          name,
          options: jobOptions(po),
        });
        const existed = type === "apply" && !r.subresource ? exists(ref, ns, name) : true;
        const patched = await registry.patch(ref, ns, name, type, patch, {
          ...po,
          user: requestUser(req),
        });
        sendJson(res, existed ? 200 : 201, renderObject(patched, viewOptions()), { yaml });
        return;
      }
      case "POST": {
        if (!r.subresource) throw methodNotAllowed(method, `${info.resource}/${name}`);
        const wo = writeOptions(q, res);
        const obj = (await bodyOf(
          req,
          { verb: "create", ref, namespace: ns, name, options: jobOptions(wo) },
          wo.warn,
        )) as KubeObject;
        const result = registry.createSync(ref, ns, obj, { ...wo, name } as WriteOptions);
        sendJson(res, 201, result);
        return;
      }
      case "DELETE": {
        const body = await bodyOf(req, { verb: "parse", ref, namespace: ns, options: {} });
        const gone = await registry.delete(ref, ns, name, {
          ...deleteOptions(q, body),
          user: requestUser(req),
          warn: warningsTo(res),
        });
        const pending = gone.metadata.deletionTimestamp !== undefined && exists(ref, ns, name);
        sendJson(res, pending ? 202 : 200, renderObject(gone, viewOptions()), { yaml });
        return;
      }
      default:
        throw methodNotAllowed(method, `${info.resource}/${name}`);
    }
  }

  function exists(ref: ResourceRef, ns: string, name: string): boolean {
    try {
      registry.getSync(
        { group: ref.group, version: ref.version, resource: ref.resource },
        ns,
        name,
      );
      return true;
    } catch (e) {
      if (e instanceof ConversionPending) return true;
      if (e instanceof StatusError && e.code === 404) return false;
      throw e;
    }
  }

  function handleDiscovery(
    req: IncomingMessage,
    res: ServerResponse,
    r: ReturnType<typeof route>,
  ): boolean {
    const accept = req.headers.accept;
    switch (r.type) {
      case "apiVersions":
      case "apiGroups": {
        const agg = wantsAggregated(accept);
        if (agg) {
          sendJson(res, 200, aggregatedDiscovery(r.type === "apiVersions", agg, extra()), {
            contentType: AGGREGATED_TYPES[agg],
          });
        } else {
          sendJson(
            res,
            200,
            r.type === "apiVersions" ? apiVersions(options.serverAddress()) : apiGroupList(extra()),
          );
        }
        return true;
      }
      case "group": {
        const doc = apiGroup(r.group, extra());
        if (!doc) throw notFound("", "", r.group);
        sendJson(res, 200, doc);
        return true;
      }
      case "groupVersion": {
        const doc = apiResourceList(r.group, r.version, extra());
        if (!doc) throw resourceNotServed();
        sendJson(res, 200, doc);
        return true;
      }
      default:
        return false;
    }
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const r = route(url.pathname);
      switch (r.type) {
        case "health": {
          const checks: HealthCheck[] = [{ name: "ping", ok: true }];
          if (r.check === "readyz") checks.push(...options.readiness());
          const answer = answerHealth(r.check, checks, {
            path: url.pathname,
            query: url.searchParams,
          });
          sendText(res, answer.status, answer.body);
          return;
        }
        case "version":
          sendJson(res, 200, options.version);
          return;
        case "openapiV2":
        case "openapiV3Root":
        case "openapiV3": {
          const answer = options.openapi?.respond(
            url.pathname,
            url.searchParams,
            req.headers.accept,
          );
          if (!answer) throw resourceNotServed();
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
          return;
        }
        case "resource": {
          const metrics = r.group === METRICS_GROUP ? options.metrics?.() : undefined;
          if (metrics) {
            await serveMetrics(req, res, r, url.searchParams, {
              registry,
              provider: metrics,
              now: options.now,
            });
          } else await handleResource(req, res, r, url.searchParams);
          return;
        }
        case "notFound":
          throw resourceNotServed();
        default:
          if (!handleDiscovery(req, res, r)) throw resourceNotServed();
      }
    } catch (e) {
      if (e instanceof BodyPoolSaturated) {
        req.resume();
        tooManyRequests(res);
      } else sendError(res, e);
    }
  };
}
