/**
 * Admission webhooks, as kube-apiserver's MutatingAdmissionWebhook and ValidatingAdmissionWebhook
 * plugins call them: configurations kept in step with the store (a watch), sorted by name and
 * their webhooks in order; a webhook is called when its rules (matchPolicy Equivalent: or an
 * equivalent version's), namespaceSelector and objectSelector cover a write. Mutating webhooks
 * run one after another, their JSONPatches applied, those with reinvocationPolicy IfNeeded called
 * once more when a later webhook changed the object; validating webhooks run in parallel. A
 * refusal is kube's `admission webhook "x" denied the request: …`; a failed call is kube's 500
 * `failed calling webhook "x": …` under failurePolicy Fail and is skipped under Ignore; warnings
 * go to the client. The configuration kinds themselves are never sent to webhooks.
 *
 * A webhook's `matchConditions` (CEL) are evaluated after its selectors, by the evaluator the
 * API server gives ({@link WebhookOptions.matchConditions}): one false skips the webhook; errors
 * skip it under failurePolicy Ignore and refuse the request under Fail with kube's
 * `failed calling webhook "x": failed to evaluate match conditions: …`.
 *
 * @module
 */
import { internalError, StatusError } from "../../api/errors.ts";
import type { GroupVersionKind, KubeObject } from "../../api/types.ts";
import type { Store, StoreWatch } from "../../store/types.ts";
import type { WebhookAdmission, WriteAttributes } from "../registry/index.ts";
import { findResource, type ResourceInfo, storeKey, storePrefix } from "../resources.ts";
import { CallError, type CallTarget, WebhookClient } from "./_call.ts";
import {
  type MatchTarget,
  matchingVersion,
  namespaceSelected,
  objectSelected,
  selectsEveryNamespace,
  type Webhook,
} from "./_match.ts";
import { buildReview, denial, patched, readResponse, reviewVersion } from "./_review.ts";
import { resolveService } from "./_service.ts";

export { CallError, goError } from "./_call.ts";
export {
  type Gvr,
  type MatchTarget,
  matchingVersion,
  namespaceSelected,
  objectSelected,
  type Rule,
  ruleMatches,
  selectsEveryNamespace,
} from "./_match.ts";
export { resolveService, type ServiceRef } from "./_service.ts";

export const ADMISSION_GROUP = "admissionregistration.k8s.io";
const MUTATING = findResource(ADMISSION_GROUP, "mutatingwebhookconfigurations")!;
const VALIDATING = findResource(ADMISSION_GROUP, "validatingwebhookconfigurations")!;
const NAMESPACES = findResource("", "namespaces")!;
/** Kinds no webhook is called for (kube's rule: a webhook could lock itself out). */
const EXEMPT = new Set([
  "mutatingwebhookconfigurations",
  "validatingwebhookconfigurations",
  "validatingadmissionpolicies",
  "validatingadmissionpolicybindings",
]);

export interface WebhookOptions {
  /** Every served version of a group's resource (for matchPolicy Equivalent). */
  versionsOf(info: ResourceInfo): ResourceInfo[];
  /** Converts an object to another served version of its kind. */
  convert(obj: KubeObject, to: GroupVersionKind): KubeObject;
  /** Evaluates a webhook's matchConditions against a request seen in the version `as`. */
  matchConditions?(
    hook: Webhook,
    input: {
      attrs: WriteAttributes;
      as: { group: string; version: string; kind: string; resource: string };
      obj: KubeObject | undefined;
      old: KubeObject | undefined;
    },
  ): { matches: boolean } | { error: string };
}

interface Entry {
  config: string;
  hook: Webhook;
}

/** A webhook that covers a request, and the version it sees it in. */
interface Match {
  hook: Webhook;
  as: ResourceInfo;
}

/** What admission rules match a write on: its resource, subresource, operation and scope. */
export function matchTarget(attrs: WriteAttributes): MatchTarget {
  const { info } = attrs;
  return {
    group: info.group,
    version: info.version,
    resource: info.resource,
    subresource: attrs.subresource,
    operation: attrs.operation,
    namespaced: info.namespaced,
  };
}

export class Webhooks implements WebhookAdmission {
  private readonly store: Store;
  private readonly options: WebhookOptions;
  private readonly client = new WebhookClient();
  private readonly configs = {
    mutating: new Map<string, KubeObject>(),
    validating: new Map<string, KubeObject>(),
  };
  private hooks = { mutating: [] as Entry[], validating: [] as Entry[] };
  private watches: StoreWatch[] = [];
  private stopped = false;

  constructor(store: Store, options: WebhookOptions) {
    this.store = store;
    this.options = options;
  }

  /** Lists the configurations and follows their changes until {@link stop}. */
  start(): void {
    for (const kind of ["mutating", "validating"] as const) this.follow(kind);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches) w.stop();
    this.watches = [];
    this.client.close();
  }

  private follow(kind: "mutating" | "validating"): void {
    if (this.stopped) return;
    const prefix = storePrefix(kind === "mutating" ? MUTATING : VALIDATING, "");
    const listed = this.store.list(prefix);
    const map = this.configs[kind];
    map.clear();
    for (const o of listed.items) map.set(o.metadata.name ?? "", o);
    this.rebuild(kind);
    const watch = this.store.watch(prefix, {
      fromRevision: listed.revision,
      onEvent: (e) => {
        if (e.type === "DELETED") map.delete(e.object.metadata.name ?? "");
        else map.set(e.object.metadata.name ?? "", e.object);
        this.rebuild(kind);
      },
      onClose: () => {
        this.watches = this.watches.filter((w) => w !== watch);
        this.follow(kind);
      },
    });
    this.watches.push(watch);
  }

  private rebuild(kind: "mutating" | "validating"): void {
    const names = [...this.configs[kind].keys()].sort();
    this.hooks[kind] = names.flatMap((config) =>
      ((this.configs[kind].get(config) as { webhooks?: Webhook[] }).webhooks ?? []).map((hook) => ({
        config,
        hook,
      })),
    );
  }

  private exempt(attrs: WriteAttributes): boolean {
    return attrs.info.group === ADMISSION_GROUP && EXEMPT.has(attrs.info.resource);
  }

  interested(attrs: WriteAttributes): boolean {
    if (this.hooks.mutating.length === 0 && this.hooks.validating.length === 0) return false;
    if (this.exempt(attrs)) return false;
    const t = matchTarget(attrs);
    const equivalents = this.options.versionsOf(attrs.info);
    return [...this.hooks.mutating, ...this.hooks.validating].some(
      (e) => matchingVersion(e.hook, t, equivalents) !== undefined,
    );
  }

  /** The webhooks of a kind that cover this write, with the version each sees it in. */
  private matching(
    entries: Entry[],
    attrs: WriteAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Match[] {
    if (this.exempt(attrs)) return [];
    const t = matchTarget(attrs);
    const versions = this.options.versionsOf(attrs.info);
    const out: Match[] = [];
    let nsLabels: Record<string, string> | undefined;
    let nsLooked = false;
    for (const { hook } of entries) {
      const gvr = matchingVersion(hook, t, versions);
      if (!gvr) continue;
      if (!selectsEveryNamespace(hook)) {
        const isNamespace = attrs.info.group === "" && attrs.info.resource === "namespaces";
        if (isNamespace) {
          if (!namespaceSelected(hook, (obj ?? old)?.metadata.labels)) continue;
        } else if (attrs.info.namespaced) {
          if (!nsLooked) {
            nsLabels = this.store.get(storeKey(NAMESPACES, "", attrs.namespace))?.metadata.labels;
            nsLooked = true;
          }
          if (!namespaceSelected(hook, nsLabels)) continue;
        }
      }
      if (!objectSelected(hook, obj, old)) continue;
      const as = versions.find((v) => v.version === gvr.version) ?? attrs.info;
      if (hook.matchConditions?.length && this.options.matchConditions) {
        const result = this.options.matchConditions(hook, {
          attrs,
          as,
          obj: this.shown(obj, as, attrs.info),
          old: this.shown(old, as, attrs.info),
        });
        if ("error" in result)
          throw internalError(
            `failed calling webhook "${hook.name}": failed to evaluate match conditions: ${result.error}`,
          );
        if (!result.matches) continue;
      }
      out.push({ hook, as });
    }
    return out;
  }

  /** Converts to the version a webhook sees, or back. */
  private shown(obj: KubeObject | undefined, to: ResourceInfo, from: ResourceInfo) {
    if (!obj || to.version === from.version) return obj;
    return this.options.convert(obj, { group: to.group, version: to.version, kind: to.kind });
  }

  async mutate(
    attrs: WriteAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<KubeObject | undefined> {
    const matches = this.matching(this.hooks.mutating, attrs, obj, old);
    let current = obj;
    let lastChange = -1;
    const called: Match[] = [];
    const run = async (m: Match): Promise<boolean> => {
      const sent = this.shown(current, m.as, attrs.info);
      const response = await this.call(m, attrs, sent, this.shown(old, m.as, attrs.info));
      if (!response?.patch || !sent || attrs.operation === "DELETE") return false;
      let next: KubeObject;
      try {
        next = patched(sent, response.patch);
      } catch (e) {
        throw internalError(
          `failed calling webhook "${m.hook.name}": received invalid webhook response: ${(e as Error).message}`,
        );
      }
      if (JSON.stringify(next) === JSON.stringify(sent)) return false;
      current = this.shown(next, attrs.info, m.as);
      return true;
    };
    for (const m of matches) {
      called.push(m);
      if (await run(m)) lastChange = called.length - 1;
    }
    // reinvocationPolicy IfNeeded: once more for those called before a later change.
    if (lastChange > 0) {
      for (const [i, m] of called.entries()) {
        if (i < lastChange && m.hook.reinvocationPolicy === "IfNeeded") await run(m);
      }
    }
    return current;
  }

  async validate(
    attrs: WriteAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<void> {
    const matches = this.matching(this.hooks.validating, attrs, obj, old);
    const results = await Promise.allSettled(
      matches.map((m) =>
        this.call(m, attrs, this.shown(obj, m.as, attrs.info), this.shown(old, m.as, attrs.info)),
      ),
    );
    for (const r of results) if (r.status === "rejected") throw r.reason;
  }

  /** One call: the response when allowed, undefined when skipped (failurePolicy Ignore). */
  private async call(
    m: Match,
    attrs: WriteAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ) {
    const { hook } = m;
    if (attrs.dryRun && hook.sideEffects !== "None" && hook.sideEffects !== "NoneOnDryRun") {
      throw new StatusError(
        400,
        "BadRequest",
        `admission webhook "${hook.name}" does not support dry run`,
      );
    }
    const fail = (text: string) => {
      if (hook.failurePolicy === "Ignore") return undefined;
      throw internalError(`failed calling webhook "${hook.name}": ${text}`);
    };
    const version = reviewVersion(hook);
    if (!version) return fail("webhook does not accept v1 or v1beta1 AdmissionReview");
    let target: CallTarget;
    try {
      target = this.resolve(hook.clientConfig, hook.timeoutSeconds ?? 10);
    } catch (e) {
      return fail(`failed to call webhook: ${(e as Error).message}`);
    }
    const { uid, review } = buildReview(version, {
      attrs,
      as: { group: m.as.group, version: m.as.version, resource: m.as.resource, kind: m.as.kind },
      obj,
      old,
    });
    let response: ReturnType<typeof readResponse>;
    try {
      response = readResponse(version, uid, await this.client.post(target, review));
    } catch (e) {
      const text = (e as Error).message;
      return fail(e instanceof CallError ? `failed to call webhook: ${text}` : text);
    }
    for (const w of response.warnings ?? []) attrs.warn?.(w);
    if (!response.allowed) throw denial(hook.name, response.status);
    return response;
  }

  /**
   * POSTs a review to a webhook's clientConfig (a CRD's conversion webhook); rejects with the
   * call's error in Go's words.
   */
  async post(clientConfig: unknown, timeoutSeconds: number, review: object): Promise<unknown> {
    return this.client.post(
      this.resolve(clientConfig as Webhook["clientConfig"], timeoutSeconds),
      review,
    );
  }

  /** Where a webhook is reached: its URL, or its Service through the Service's endpoints. */
  private resolve(cc: Webhook["clientConfig"], timeoutSeconds: number): CallTarget {
    const timeoutMs = timeoutSeconds * 1000;
    const timeout = `timeout=${timeoutSeconds}s`;
    if (cc.url) {
      const url = new URL(cc.url);
      url.search = timeout;
      return { url, caBundle: cc.caBundle, timeoutMs };
    }
    const svc = cc.service;
    if (!svc) throw new Error("no url or service in clientConfig");
    const port = svc.port ?? 443;
    const url = new URL(`https://${svc.name}.${svc.namespace}.svc:${port}${svc.path ?? ""}`);
    url.search = timeout;
    const shown = `https://${svc.name}.${svc.namespace}.svc:${port}${svc.path ?? ""}?${timeout}`;
    const base: CallTarget = { url, shown, caBundle: cc.caBundle, timeoutMs };
    try {
      const address = resolveService(this.store, {
        namespace: svc.namespace,
        name: svc.name,
        port,
      });
      return { ...base, address };
    } catch (e) {
      // Resolution fails as Go's dial would, after the request line.
      throw new Error(`Post "${shown}": ${(e as Error).message}`);
    }
  }
}
