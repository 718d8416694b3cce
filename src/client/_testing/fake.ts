/**
 * An in-memory `ApiVerbs` test double, so that informers, controllers and the runner are tested
 * without a server. It keeps the API's observable contract where tests lean on it:
 *
 * - one global revision: every write bumps it and stamps `metadata.resourceVersion`;
 * - create sets uid, creationTimestamp, namespace, generation (for kinds with status) and
 *   honours generateName; update/patch check a given resourceVersion (409 Conflict);
 * - `status` subresource: a main-resource write keeps the old status, a status write keeps
 *   everything but status; generation moves only when the spec changes;
 * - delete with finalizers only sets deletionTimestamp; the object goes when they are cleared;
 * - list/watch filter by namespace (`""` = all), label and field selectors; list pages with
 *   limit/continue; watch from `""`/`"0"` starts with synthetic ADDEDs, from a revision replays
 *   the retained log, and from a revision older than the window (see `compact`) delivers one
 *   ERROR event with a 410 Expired Status and ends;
 * - patches: merge (RFC 7386), JSON (RFC 6902), strategic (merge, plus lists of objects with a
 *   `name` merged by name). Server-side apply is refused (400).
 *
 * Test hooks: `failNext(verb, error)`, `compact()`, `closeWatches()`, `sendBookmarks()`,
 * `calls` (every call with its arguments), `watcherCount()`.
 *
 * Events reach watchers asynchronously (a microtask after the write), in revision order.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import fastJsonPatch from "fast-json-patch";
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  fieldRequired,
  invalid,
  isStatusError,
  notFound,
  StatusError,
} from "../../api/errors.ts";
import {
  apiVersionOf,
  deepCopy,
  type KubeList,
  type KubeObject,
  type ObjectMeta,
  type WatchEvent,
} from "../../api/types.ts";
import type {
  ApiVerbs,
  DeleteOptions,
  ListOptions,
  PatchOptions,
  PatchType,
  ResourceRef,
  WatchHandle,
  WatchOptions,
  WriteOptions,
} from "../../api/verbs.ts";
import { fieldPredicate, labelPredicate } from "./selector.ts";

/** ObjectMeta without kubernetes-types' `readonly` marks: the fake is the server and sets them. */
type Meta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };
function m(o: KubeObject): Meta {
  return o.metadata as Meta;
}

/** Resources whose objects have a `status` subresource (and a generation). */
const WITH_STATUS = new Set([
  "pods",
  "services",
  "nodes",
  "namespaces",
  "persistentvolumes",
  "persistentvolumeclaims",
  "replicationcontrollers",
  "deployments",
  "replicasets",
  "statefulsets",
  "daemonsets",
  "jobs",
  "cronjobs",
  "horizontalpodautoscalers",
  "poddisruptionbudgets",
  "ingresses",
]);

const KINDS: Record<string, string> = {
  pods: "Pod",
  services: "Service",
  endpoints: "Endpoints",
  nodes: "Node",
  namespaces: "Namespace",
  configmaps: "ConfigMap",
  secrets: "Secret",
  events: "Event",
  serviceaccounts: "ServiceAccount",
  persistentvolumes: "PersistentVolume",
  persistentvolumeclaims: "PersistentVolumeClaim",
  deployments: "Deployment",
  replicasets: "ReplicaSet",
  statefulsets: "StatefulSet",
  daemonsets: "DaemonSet",
  jobs: "Job",
  endpointslices: "EndpointSlice",
  leases: "Lease",
};

type Verb =
  | "get"
  | "list"
  | "create"
  | "update"
  | "patch"
  | "delete"
  | "deleteCollection"
  | "watch";

interface LogEntry {
  rev: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  resource: string;
  object: KubeObject;
  previous: KubeObject | undefined;
}

interface Watcher {
  resource: string;
  namespace: string;
  matches: (o: KubeObject) => boolean;
  bookmarks: boolean;
  onEvent: (e: WatchEvent) => void;
  pending: WatchEvent[];
  scheduled: boolean;
  closing: boolean;
  stopped: boolean;
  finish: () => void;
}

export interface FakeApiOptions {
  /** Watch-log entries kept; a watch from an older revision gets 410. Default 1000. */
  window?: number;
  now?: () => number;
}

export class FakeApi implements ApiVerbs {
  /** Every call, in order, with its arguments (objects as passed, not copied). */
  readonly calls: { verb: Verb; ref: ResourceRef; namespace: string; args: unknown[] }[] = [];
  private revision = 1;
  private compacted = 0;
  private readonly objects = new Map<string, KubeObject>();
  private log: LogEntry[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly failures = new Map<Verb, Error[]>();
  private readonly window: number;
  private readonly now: () => number;

  constructor(options: FakeApiOptions = {}) {
    this.window = options.window ?? 1000;
    this.now = options.now ?? Date.now;
  }

  // ---- test hooks ---------------------------------------------------------------------------

  /** The next call of `verb` fails with `error` (for watch: an ERROR event, then the end). */
  failNext(verb: Verb, error: Error): void {
    const list = this.failures.get(verb) ?? [];
    list.push(error);
    this.failures.set(verb, list);
  }

  /** Forgets the watch log: a watch from any revision issued so far now gets 410 Expired. */
  compact(): void {
    this.compacted = this.revision;
    this.log = [];
  }

  /** Ends every open watch after its pending events, as a server-side timeout does. */
  closeWatches(): void {
    for (const w of this.watchers) {
      w.closing = true;
      this.schedule(w);
    }
  }

  /** Sends a BOOKMARK at the current revision to every watch that allows bookmarks. */
  sendBookmarks(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const kind = KINDS[w.resource.split("|")[1] ?? ""] ?? "Object";
      this.push(w, {
        type: "BOOKMARK",
        object: { kind, metadata: { resourceVersion: String(this.revision) } },
      });
    }
  }

  watcherCount(): number {
    return this.watchers.size;
  }

  currentRevision(): string {
    return String(this.revision);
  }

  // ---- ApiVerbs -----------------------------------------------------------------------------

  async get(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject> {
    this.enter("get", ref, namespace, [name]);
    const obj = this.objects.get(this.key(ref, namespace, name));
    if (!obj) throw notFound(ref.resource, ref.group, name);
    return deepCopy(obj);
  }

  async list(ref: ResourceRef, namespace: string, options: ListOptions = {}): Promise<KubeList> {
    this.enter("list", ref, namespace, [options]);
    const matches = this.matcher(options);
    const prefix = this.prefix(ref, namespace);
    let rv = String(this.revision);
    let after = "";
    if (options.continue) {
      const token = decodeContinue(options.continue);
      if (Number(token.rv) < this.compacted) {
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      rv = token.rv;
      after = token.after;
    }
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const items: KubeObject[] = [];
    let next: string | undefined;
    let lastKey = "";
    for (const k of keys) {
      const o = this.objects.get(k)!;
      if (!matches(o)) continue;
      if (options.limit && items.length === options.limit) {
        next = encodeContinue({ rv, after: lastKey });
        break;
      }
      items.push(deepCopy(o));
      lastKey = k;
    }
    const list: KubeList = {
      apiVersion: apiVersionOf(ref.group, ref.version),
      kind: `${this.kindOf(ref, items)}List`,
      metadata: { resourceVersion: rv },
      items: items.map(stripTypeMeta),
    };
    if (next) list.metadata.continue = next;
    return list;
  }

  async create(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options: WriteOptions = {},
  ): Promise<KubeObject> {
    this.enter("create", ref, namespace, [object, options]);
    const obj = deepCopy(object);
    obj.metadata ??= {};
    const meta = m(obj);
    if (namespace && meta.namespace && meta.namespace !== namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    if (!meta.name) {
      throw invalid(this.kindOf(ref, [obj]), ref.group, "", [
        fieldRequired("metadata.name", "name or generateName is required"),
      ]);
    }
    const key = this.key(ref, namespace, meta.name);
    if (this.objects.has(key)) throw alreadyExists(ref.resource, ref.group, meta.name);
    if (namespace) meta.namespace = namespace;
    else delete meta.namespace;
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date(this.now()).toISOString().replace(/\.\d+Z$/, "Z");
    if (WITH_STATUS.has(ref.resource)) {
      // As the API server's create strategies do: status is the controllers' to write.
      meta.generation = 1;
      delete obj.status;
    }
    delete meta.deletionTimestamp;
    obj.apiVersion ??= apiVersionOf(ref.group, ref.version);
    obj.kind ??= this.kindOf(ref, []);
    if (options.dryRun) return obj;
    return deepCopy(this.commit(ref, key, "ADDED", obj, undefined));
  }

  async update(
    ref: ResourceRef,
    namespace: string,
    object: KubeObject,
    options: WriteOptions = {},
  ): Promise<KubeObject> {
    this.enter("update", ref, namespace, [object, options]);
    return this.replace(ref, namespace, deepCopy(object), options.dryRun ?? false);
  }

  async patch(
    ref: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<KubeObject> {
    this.enter("patch", ref, namespace, [name, type, patch, options]);
    const current = this.objects.get(this.key(ref, namespace, name));
    if (!current) throw notFound(ref.resource, ref.group, name);
    let next: KubeObject;
    if (type === "json") {
      try {
        next = fastJsonPatch.applyPatch(
          deepCopy(current),
          patch as fastJsonPatch.Operation[],
          true,
        ).newDocument;
      } catch (e) {
        throw new StatusError(422, "Invalid", `the server rejected our request: ${String(e)}`);
      }
    } else if (type === "merge") {
      next = mergePatch(deepCopy(current), patch, false) as KubeObject;
    } else if (type === "strategic") {
      next = mergePatch(deepCopy(current), patch, true) as KubeObject;
    } else {
      throw badRequest("the in-memory fake does not implement server-side apply");
    }
    // A patch that does not name a resourceVersion is applied to the current one.
    const patchedRv = next.metadata?.resourceVersion;
    if (patchedRv === current.metadata.resourceVersion || patchedRv === undefined) {
      m(next).resourceVersion = current.metadata.resourceVersion!;
    }
    return this.replace(ref, namespace, next, options.dryRun ?? false);
  }

  async delete(
    ref: ResourceRef,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): Promise<KubeObject> {
    this.enter("delete", ref, namespace, [name, options]);
    const key = this.key(ref, namespace, name);
    const current = this.objects.get(key);
    if (!current) throw notFound(ref.resource, ref.group, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw conflict(
        ref.resource,
        ref.group,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        ref.resource,
        ref.group,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    if (options.dryRun) return deepCopy(current);
    if ((current.metadata.finalizers ?? []).length > 0) {
      if (current.metadata.deletionTimestamp) return deepCopy(current);
      const next = deepCopy(current);
      m(next).deletionTimestamp = new Date(this.now()).toISOString().replace(/\.\d+Z$/, "Z");
      m(next).deletionGracePeriodSeconds = 0;
      return deepCopy(this.commit(ref, key, "MODIFIED", next, current));
    }
    return deepCopy(this.commit(ref, key, "DELETED", deepCopy(current), current));
  }

  async deleteCollection(
    ref: ResourceRef,
    namespace: string,
    options: ListOptions & DeleteOptions = {},
  ): Promise<void> {
    this.enter("deleteCollection", ref, namespace, [options]);
    const matches = this.matcher(options);
    const prefix = this.prefix(ref, namespace);
    for (const [k, o] of [...this.objects]) {
      if (!k.startsWith(prefix) || !matches(o)) continue;
      const dopts: DeleteOptions = {};
      if (options.dryRun) dopts.dryRun = true;
      await this.delete(ref, o.metadata.namespace ?? "", o.metadata.name ?? "", dopts);
    }
  }

  watch(
    ref: ResourceRef,
    namespace: string,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
  ): WatchHandle {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const w: Watcher = {
      resource: this.resourceId(ref),
      namespace,
      matches: () => false,
      bookmarks: options.allowWatchBookmarks ?? false,
      onEvent,
      pending: [],
      scheduled: false,
      closing: false,
      stopped: false,
      finish,
    };
    const handle: WatchHandle = {
      stop: () => {
        if (w.stopped) return;
        w.stopped = true;
        this.watchers.delete(w);
        finish();
      },
      done,
    };
    try {
      this.enter("watch", ref, namespace, [options]);
      w.matches = this.matcher(options);
      const rv = options.resourceVersion ?? "";
      if (rv === "" || rv === "0") {
        const prefix = this.prefix(ref, namespace);
        for (const k of [...this.objects.keys()].sort()) {
          const o = this.objects.get(k)!;
          if (k.startsWith(prefix) && w.matches(o))
            this.push(w, { type: "ADDED", object: deepCopy(o) });
        }
      } else {
        const from = Number(rv);
        if (!Number.isFinite(from)) throw badRequest(`invalid resource version "${rv}"`);
        if (from < this.compacted) {
          throw expired(`too old resource version: ${rv} (${this.compacted + 1})`);
        }
        for (const e of this.log) if (e.rev > from) this.offer(w, e);
      }
      this.watchers.add(w);
    } catch (e) {
      const status = isStatusError(e)
        ? e.toStatus()
        : new StatusError(500, "InternalError", String(e)).toStatus();
      this.push(w, { type: "ERROR", object: status as unknown as KubeObject });
      w.closing = true;
    }
    return handle;
  }

  // ---- internals ----------------------------------------------------------------------------

  private enter(verb: Verb, ref: ResourceRef, namespace: string, args: unknown[]): void {
    this.calls.push({ verb, ref, namespace, args });
    const queued = this.failures.get(verb);
    const error = queued?.shift();
    if (error) throw error;
  }

  private resourceId(ref: ResourceRef): string {
    return `${ref.group}|${ref.resource}`;
  }

  private key(ref: ResourceRef, namespace: string, name: string): string {
    return `${this.resourceId(ref)}|${namespace}|${name}`;
  }

  private prefix(ref: ResourceRef, namespace: string): string {
    return namespace ? `${this.resourceId(ref)}|${namespace}|` : `${this.resourceId(ref)}|`;
  }

  private kindOf(ref: ResourceRef, items: KubeObject[]): string {
    return KINDS[ref.resource] ?? items[0]?.kind ?? capitalize(ref.resource.replace(/s$/, ""));
  }

  private matcher(options: ListOptions): (o: KubeObject) => boolean {
    const labels = labelPredicate(options.labelSelector);
    const fields = fieldPredicate(options.fieldSelector);
    return (o) => labels(o.metadata.labels ?? {}) && fields(o);
  }

  private replace(ref: ResourceRef, namespace: string, obj: KubeObject, dryRun: boolean) {
    const name = obj.metadata?.name ?? "";
    const key = this.key(ref, namespace, name);
    const current = this.objects.get(key);
    if (!current) throw notFound(ref.resource, ref.group, name);
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion)
      throw conflict(ref.resource, ref.group, name);
    let next: KubeObject;
    if (ref.subresource === "status") {
      next = deepCopy(current);
      if (obj.status === undefined) delete next.status;
      else next.status = obj.status;
    } else {
      next = obj;
      if (WITH_STATUS.has(ref.resource)) {
        if (current.status === undefined) delete next.status;
        else next.status = deepCopy(current.status);
      }
      // Fields the server owns.
      const meta = m(next);
      meta.uid = current.metadata.uid!;
      meta.creationTimestamp = current.metadata.creationTimestamp!;
      if (namespace) meta.namespace = namespace;
      if (current.metadata.deletionTimestamp) {
        meta.deletionTimestamp = current.metadata.deletionTimestamp;
      } else delete meta.deletionTimestamp;
      if (current.metadata.generation !== undefined) {
        const specChanged = JSON.stringify(current.spec) !== JSON.stringify(next.spec);
        meta.generation = current.metadata.generation + (specChanged ? 1 : 0);
      }
      next.apiVersion ??= current.apiVersion!;
      next.kind ??= current.kind!;
    }
    if (dryRun) return deepCopy(next);
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      return deepCopy(this.commit(ref, key, "DELETED", next, current));
    }
    return deepCopy(this.commit(ref, key, "MODIFIED", next, current));
  }

  /** Stores (or removes) one object under a new revision and tells the watchers. */
  private commit(
    ref: ResourceRef,
    key: string,
    type: LogEntry["type"],
    obj: KubeObject,
    previous: KubeObject | undefined,
  ): KubeObject {
    this.revision++;
    m(obj).resourceVersion = String(this.revision);
    if (type === "DELETED") this.objects.delete(key);
    else this.objects.set(key, obj);
    const entry: LogEntry = {
      rev: this.revision,
      type,
      resource: this.resourceId(ref),
      object: deepCopy(obj),
      previous,
    };
    this.log.push(entry);
    while (this.log.length > this.window) this.compacted = this.log.shift()!.rev;
    for (const w of this.watchers) this.offer(w, entry);
    return obj;
  }

  /** Delivers a log entry as a watcher with a selector sees it (entering/leaving the set). */
  private offer(w: Watcher, e: LogEntry): void {
    if (e.resource !== w.resource) return;
    if (w.namespace && e.object.metadata.namespace !== w.namespace) return;
    const now = e.type !== "DELETED" && w.matches(e.object);
    const before = e.previous !== undefined && w.matches(e.previous);
    let type: WatchEvent["type"] | undefined;
    if (e.type === "ADDED") type = now ? "ADDED" : undefined;
    else if (e.type === "DELETED") type = before || w.matches(e.object) ? "DELETED" : undefined;
    else if (now) type = before ? "MODIFIED" : "ADDED";
    else if (before) type = "DELETED";
    if (type) this.push(w, { type, object: deepCopy(e.object) });
  }

  private push(w: Watcher, event: WatchEvent): void {
    w.pending.push(event);
    this.schedule(w);
  }

  private schedule(w: Watcher): void {
    if (w.scheduled) return;
    w.scheduled = true;
    queueMicrotask(() => {
      w.scheduled = false;
      while (!w.stopped && w.pending.length > 0) {
        const e = w.pending.shift()!;
        try {
          w.onEvent(e);
        } catch {
          // A throwing consumer does not break the fake; real transports would drop it too.
        }
      }
      if (w.closing && !w.stopped) {
        w.stopped = true;
        this.watchers.delete(w);
        w.finish();
      }
    });
  }
}

function stripTypeMeta(o: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest as KubeObject;
}

function encodeContinue(token: { rv: string; after: string }): string {
  return Buffer.from(JSON.stringify(token)).toString("base64url");
}

function decodeContinue(s: string): { rv: string; after: string } {
  try {
    const t = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
    if (typeof t.rv === "string" && typeof t.after === "string") return t;
  } catch {
    // fall through
  }
  throw badRequest("continue key is not valid: incorrect encoded start resourceVersion");
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let s = "";
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * RFC 7386 merge; with `byName`, lists whose elements are all objects with a `name` are merged
 * element by element (strategic merge's behaviour for containers, env, ports, volumes…).
 */
function mergePatch(target: unknown, patch: unknown, byName: boolean): unknown {
  if (
    byName &&
    Array.isArray(target) &&
    Array.isArray(patch) &&
    isNamedList(target) &&
    isNamedList(patch)
  ) {
    const out = [...target] as Record<string, unknown>[];
    for (const p of patch as Record<string, unknown>[]) {
      const i = out.findIndex((t) => t.name === p.name);
      if (p.$patch === "delete") {
        if (i >= 0) out.splice(i, 1);
      } else if (i >= 0) out[i] = mergePatch(out[i], p, byName) as Record<string, unknown>;
      else out.push(p);
    }
    return out;
  }
  if (!isPlainObject(patch)) return patch;
  const base = isPlainObject(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v, byName);
  }
  return base;
}

function isNamedList(list: unknown[]): boolean {
  return list.length > 0 && list.every((e) => isPlainObject(e) && typeof e.name === "string");
}
