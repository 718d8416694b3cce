/**
 * What the body worker does with one big request body, as a plain function (the worker thread in
 * `_bodyworker.ts` only carries messages): parse it (JSON, YAML or protobuf by Content-Type), then
 * run the very verb the request asks for, as a dry run, through a registry whose store is a
 * snapshot of what the main thread holds for the request (its namespace, its named object).
 *
 * The {@link BodyVerdict} says either
 * - `ok`: the write may go through; the main thread runs it for real, with its store and its
 *   admission, from `body` (the typed-decoded object for a create or update, so it is not
 *   decoded twice; the parsed body otherwise);
 * - or the Status the request answers (a parse or decode error, a validation error, a patch that
 *   does not apply, an object over etcd's limit), with the store reads it rests on: the main
 *   thread answers it only if every key read still holds the same resourceVersion (or is still
 *   absent), and otherwise sends the job again with those objects in the snapshot.
 *
 * Each step is the main thread's own code (the registry, the decoders, the kinds' strategies),
 * so a verdict is the answer the main thread would give as long as the objects read do not
 * change meanwhile. One difference, for rejected objects only: admission hooks (Service
 * addresses, the default StorageClass) do not run here, so an object that is valid but over the
 * size limit answers etcd's 500 even where an admission hook would have refused it first. A step
 * that would write, list or watch, or any failure that is not a Status, ends the dry run with
 * `ok`: the main thread then decides, as it does for a small body.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { StatusError, type StatusReason } from "../../api/errors.ts";
import { strategyFor } from "../../api/kinds/index.ts";
import type { KubeObject } from "../../api/types.ts";
import type { PatchType, ResourceRef, WriteOptions } from "../../api/verbs.ts";
import type { ListResult, Store, StoreWatch } from "../../store/types.ts";
import type { OpenApi } from "../openapi/index.ts";
import { patchers } from "../patchers.ts";
import { decodeKubeProtobuf } from "../protobuf/index.ts";
import {
  decodeBody,
  fitForStorage,
  genericStrategy,
  markDecoded,
  Registry,
} from "../registry/index.ts";
import { decodeObject, decodePatch, parseJson } from "./codec.ts";

export interface BodyJob {
  body: Uint8Array;
  contentType: string | undefined;
  /** `parse`: only parse the body as JSON (a DeleteOptions body). */
  verb: "create" | "update" | "patch" | "parse";
  ref: ResourceRef;
  namespace: string;
  /** The name in the URL, if any. */
  name?: string;
  options: JobOptions;
  /** false: only parse (by Content-Type), no dry run. */
  check?: boolean;
  /** The objects the main thread holds for the request, by store key. */
  snapshot: Array<[string, KubeObject]>;
}

/** The request's write options that travel (the warning sink stays on the main thread). */
export interface JobOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: "Strict" | "Warn" | "Ignore";
  force?: boolean;
}

export interface JobStatus {
  code: number;
  reason: StatusReason;
  message: string;
  details?: StatusError["details"];
}

/**
 * `warnings` are the decode's (unknown fields under `fieldValidation` Warn): the main thread sends
 * them with a rejection and with a decoded body, whose decode it skips; for a body it decodes
 * itself it finds them again.
 */
export type BodyVerdict =
  | { ok: true; body: unknown; decoded: boolean; warnings: string[] }
  | {
      ok: false;
      status: JobStatus;
      warnings: string[];
      /** Every store key the dry run read, with the resourceVersion it saw (null: absent). */
      reads: Array<[string, string | null]>;
    };

/** A store write, list or watch: the dry run cannot tell, the main thread decides. */
class NeedsMainThread extends Error {
  override readonly name = "NeedsMainThread";
}

/** A read-only store over the snapshot that records every key read. */
class SnapshotStore implements Store {
  readonly reads = new Map<string, string | null>();
  constructor(private readonly objects: Map<string, KubeObject>) {}
  get(key: string): KubeObject | undefined {
    const obj = this.objects.get(key);
    this.reads.set(key, obj?.metadata.resourceVersion ?? null);
    return obj;
  }
  revision(): number {
    throw new NeedsMainThread("revision");
  }
  list(): ListResult {
    throw new NeedsMainThread("list");
  }
  count(): number {
    throw new NeedsMainThread("count");
  }
  create(): KubeObject {
    throw new NeedsMainThread("create");
  }
  update(): KubeObject {
    throw new NeedsMainThread("update");
  }
  delete(): KubeObject {
    throw new NeedsMainThread("delete");
  }
  watch(): StoreWatch {
    throw new NeedsMainThread("watch");
  }
  health() {
    return { writable: true };
  }
  oldestWatchableRevision(): number {
    throw new NeedsMainThread("oldestWatchableRevision");
  }
  close(): void {}
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const e of Object.values(v)) deepFreeze(e);
  }
  return v;
}

function statusOf(e: StatusError): JobStatus {
  const s: JobStatus = { code: e.code, reason: e.reason, message: e.message };
  if (e.details) s.details = e.details;
  return s;
}

/** Rebuilds the error a verdict carries, for the main thread to answer. */
export function verdictError(status: JobStatus): StatusError {
  return new StatusError(status.code, status.reason, status.message, status.details);
}

function parse(job: BodyJob): { value: unknown; patchType?: PatchType } {
  const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  switch (job.verb) {
    case "parse":
      return { value: parseJson(body) };
    case "patch": {
      const { type, patch } = decodePatch(body, job.contentType);
      return { value: patch, patchType: type };
    }
    default:
      return { value: decodeObject(body, job.contentType, decodeKubeProtobuf) };
  }
}

/** Runs a job: see the module's contract. */
export function runBodyJob(job: BodyJob, openapi: OpenApi): BodyVerdict {
  const warnings: string[] = [];
  let parsed: unknown;
  let patchType: PatchType = "merge";
  try {
    const p = parse(job);
    parsed = p.value;
    if (p.patchType) patchType = p.patchType;
  } catch (e) {
    if (e instanceof StatusError) return { ok: false, status: statusOf(e), warnings, reads: [] };
    throw e;
  }
  if (job.verb === "parse" || job.check === false) {
    return { ok: true, body: parsed, decoded: false, warnings };
  }

  const snapshot = new Map<string, KubeObject>();
  for (const [key, obj] of job.snapshot) snapshot.set(key, deepFreeze(obj));
  const store = new SnapshotStore(snapshot);
  const registry = new Registry({
    store,
    now: () => new Date(),
    random: Math.random,
    uid: randomUUID,
    strategy: (info) => strategyFor(info.group, info.resource) ?? genericStrategy(info),
    admission: [],
    patchers,
    decoder: (gvk) => openapi.decoder(gvk),
  });
  const options: WriteOptions & { name?: string; force?: boolean } = {
    ...job.options,
    dryRun: true,
    warn: (m) => {
      if (!warnings.includes(m)) warnings.push(m);
    },
  };
  if (job.name !== undefined) options.name = job.name;
  const rejected = (e: StatusError): BodyVerdict => ({
    ok: false,
    status: statusOf(e),
    warnings,
    reads: [...store.reads],
  });

  let body = parsed;
  let decoded = false;
  try {
    const info = registry.resolve(job.ref);
    // A create or update of the object itself (or its status) is decoded here once; the main
    // thread then takes the decoded copy as it is.
    if (
      job.verb !== "patch" &&
      (job.ref.subresource === undefined ||
        (job.verb === "update" && job.ref.subresource === "status"))
    ) {
      body = decodeBody(
        registry.ctx,
        { group: info.group, version: info.version, kind: info.kind },
        parsed,
        options,
      );
      decoded = true;
    }
    const input = decoded ? markDecoded(structuredClone(body) as KubeObject) : body;
    let result: KubeObject;
    switch (job.verb) {
      case "create":
        result = registry.createSync(job.ref, job.namespace, input as KubeObject, options);
        break;
      case "update":
        result = registry.updateSync(job.ref, job.namespace, input as KubeObject, options);
        break;
      default:
        result = registry.patchSync(
          job.ref,
          job.namespace,
          job.name ?? "",
          patchType,
          input,
          options,
        );
    }
    if (!job.options.dryRun) fitForStorage(result);
  } catch (e) {
    if (e instanceof StatusError) return rejected(e);
    // Not a Status (a write the snapshot cannot make, or a failure of ours): the main thread
    // runs the request and answers as it would.
  }
  return { ok: true, body, decoded, warnings };
}
