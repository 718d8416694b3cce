/**
 * ValidatingAdmissionPolicy, as kube-apiserver's ValidatingAdmissionPolicy admission plugin runs
 * it (admissionregistration.k8s.io/v1, GA in 1.30), and CEL for webhook matchConditions.
 *
 * Policies and bindings are kept in step with the store (a watch) and compiled once per
 * generation. On each write (after the mutating webhooks, validation and built-in admission,
 * before the validating webhooks: kube's order) every binding whose policy's matchConstraints,
 * matchConditions and own matchResources cover the request runs the policy, once per param its
 * paramRef selects (`params`; none found: parameterNotFoundAction), and acts on each failed
 * validation as its validationActions say: Deny refuses the request with kube's
 * `<resource> "<name>" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied
 * request: <message>` (reason Invalid unless the validation names another, 422 for Invalid),
 * Warn adds kube's `Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': <message>`
 * warning, Audit is accepted and does nothing (no audit log). A binding that cannot be configured
 * (its paramKind not served, its params not found under `Deny`) refuses under failurePolicy Fail
 * with `failed to configure binding: …`. The admissionregistration kinds themselves are exempt.
 *
 * @module
 */
import { StatusError, type StatusReason } from "../../api/errors.ts";
import type { KindStrategy } from "../../api/kinds/index.ts";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import type { GroupVersionKind, KubeObject } from "../../api/types.ts";
import type { AuthzCheck, AuthzUser, CelSchema } from "../../cel/index.ts";
import type { Store, StoreWatch } from "../../store/types.ts";
import type { Authorizer } from "../rbac/index.ts";
import type { RequestUser, WebhookAdmission, WriteAttributes } from "../registry/index.ts";
import { findResource, type ResourceInfo, storeKey, storePrefix } from "../resources.ts";
import { ADMISSION_GROUP, type Gvr, matchingVersion, matchTarget } from "../webhooks/index.ts";
import {
  type AdmissionInput,
  bindingsOf,
  type Condition,
  compileAdmission,
  matchConditions,
} from "./_cel.ts";
import { type MatchRequest, type MatchResources, matchResources } from "./_match.ts";
import { type CompiledPolicy, compilePolicy, type PolicySpec, runPolicy } from "./_policy.ts";
import { policyExpressionErrors, webhookExpressionErrors, withChecks } from "./_strategy.ts";
import { typeCheck } from "./_typecheck.ts";

const POLICIES = findResource(ADMISSION_GROUP, "validatingadmissionpolicies")!;
const BINDINGS = findResource(ADMISSION_GROUP, "validatingadmissionpolicybindings")!;
const NAMESPACES = findResource("", "namespaces")!;
const EXEMPT = new Set([
  "mutatingwebhookconfigurations",
  "validatingwebhookconfigurations",
  "validatingadmissionpolicies",
  "validatingadmissionpolicybindings",
]);

/**
 * The strategy of an admissionregistration kind with its CEL checked at write (webhook
 * configurations' matchConditions, policies' expressions), or undefined for other resources.
 */
export function admissionStrategy(
  info: ResourceInfo,
  base: KindStrategy | undefined,
): KindStrategy | undefined {
  if (!base || info.group !== ADMISSION_GROUP) return undefined;
  if (info.resource === "validatingadmissionpolicies")
    return withChecks(base, policyExpressionErrors);
  if (
    info.resource === "mutatingwebhookconfigurations" ||
    info.resource === "validatingwebhookconfigurations"
  )
    return withChecks(base, webhookExpressionErrors);
  return undefined;
}

/** What `authorizer` checks answer for a request's user (no user: loopkube itself, allowed). */
export function authzCheck(
  authorizer: Authorizer | undefined,
  user: RequestUser | undefined,
): AuthzCheck | undefined {
  if (!authorizer || !user) return undefined;
  return (attributes, as?: AuthzUser) => {
    const who = as ? { name: as.name, groups: [...as.groups, "system:authenticated"] } : user;
    return authorizer.authorize(who, attributes);
  };
}

/** A webhook's matchConditions as kube's webhook dispatcher evaluates them. */
export type WebhookConditions = (
  hook: {
    name: string;
    failurePolicy?: string;
    matchConditions?: Array<{ name: string; expression: string }>;
  },
  input: AdmissionInput,
) => { matches: boolean } | { error: string };

/** Evaluates webhooks' matchConditions (compiled once per expression) with `authorizer`. */
export function webhookConditions(authorizer: Authorizer | undefined): WebhookConditions {
  const cache = new Map<string, Condition | string>();
  const compiled = (c: { name: string; expression: string }): Condition | string => {
    let hit = cache.get(c.expression);
    if (hit === undefined) {
      if (cache.size > 10_000) cache.clear();
      const r = compileAdmission(c.expression.trim(), {}, "bool");
      hit = r.ok ? { name: c.name, program: r.program } : r.detail;
      cache.set(c.expression, hit);
    }
    return typeof hit === "string" ? hit : { ...hit, name: c.name };
  };
  return (hook, input) => {
    const conditions: Condition[] = [];
    for (const c of hook.matchConditions ?? []) {
      const one = compiled(c);
      if (typeof one === "string")
        return hook.failurePolicy === "Ignore" ? { matches: false } : { error: one };
      conditions.push(one);
    }
    if (conditions.length === 0) return { matches: true };
    const bindings = bindingsOf({
      ...input,
      authorize: authzCheck(authorizer, input.attrs.user),
    });
    return matchConditions(conditions, bindings, hook.failurePolicy);
  };
}

export interface PolicyOptions {
  /** Every served version of a group's resource (matchPolicy Equivalent). */
  versionsOf(info: ResourceInfo): ResourceInfo[];
  /** Every served resource (to find a paramKind). */
  resources(): readonly ResourceInfo[];
  /** Converts an object to another served version of its kind. */
  convert(obj: KubeObject, to: GroupVersionKind): KubeObject;
  authorizer?: Authorizer | undefined;
  /** The schema of a kind (for `status.typeChecking`), if known. */
  schemaOf?(gvk: { group: string; version: string; kind: string }): CelSchema | undefined;
}

/** Writes a policy's status (through the registry's status subresource). */
export type StatusWriter = (policy: KubeObject) => Promise<unknown>;

interface Binding {
  name: string;
  spec: {
    policyName?: string;
    paramRef?: {
      name?: string;
      namespace?: string;
      selector?: Parameters<typeof selectorFromLabelSelector>[0];
      parameterNotFoundAction?: string;
    };
    matchResources?: MatchResources;
    validationActions?: string[];
  };
}

interface Denial {
  policy: string;
  binding: string;
  message: string;
  reason: string;
}

const CODES: Record<string, number> = {
  Invalid: 422,
  Forbidden: 403,
  Unauthorized: 401,
  RequestEntityTooLarge: 413,
};

/** kube's `GroupResource.String()`: `deployments.apps`, `pods`. */
function groupResource(info: ResourceInfo): string {
  return info.group ? `${info.resource}.${info.group}` : info.resource;
}

export class ValidatingPolicies {
  private readonly store: Store;
  private readonly options: PolicyOptions;
  private policies = new Map<string, CompiledPolicy & { generation: number }>();
  private bindings = new Map<string, Binding>();
  private watches: StoreWatch[] = [];
  private stopped = false;
  private writeStatus: StatusWriter | undefined;

  constructor(store: Store, options: PolicyOptions) {
    this.store = store;
    this.options = options;
  }

  start(): void {
    this.follow(POLICIES, (o) => this.setPolicy(o));
    this.follow(BINDINGS, (o) => {
      this.bindings.set(o.metadata.name ?? "", {
        name: o.metadata.name ?? "",
        spec: (o as { spec?: Binding["spec"] }).spec ?? {},
      });
    });
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches) w.stop();
    this.watches = [];
  }

  /**
   * Lets the policies record `status.observedGeneration` and `status.typeChecking` (kube's
   * type-checking controller) once the registry exists.
   */
  setStatusWriter(write: StatusWriter): void {
    this.writeStatus = write;
    for (const name of this.policies.keys()) {
      const stored = this.store.get(storeKey(POLICIES, "", name));
      if (stored) this.recordStatus(stored);
    }
  }

  private recordStatus(o: KubeObject): void {
    const write = this.writeStatus;
    const generation = o.metadata.generation ?? 0;
    const status = (o as { status?: { observedGeneration?: number } }).status;
    if (!write || status?.observedGeneration === generation) return;
    const spec = ((o as { spec?: PolicySpec }).spec ?? {}) as PolicySpec;
    const { schemaOf } = this.options;
    const warnings = schemaOf
      ? typeCheck(spec, { resources: () => this.options.resources(), schemaOf })
      : [];
    const next = structuredClone(o) as KubeObject & { status?: unknown };
    next.status = {
      observedGeneration: generation,
      typeChecking: warnings.length ? { expressionWarnings: warnings } : {},
    };
    // Outside the store's event delivery; a conflict means a newer generation, seen next.
    setImmediate(() => {
      if (this.stopped) return;
      write(next).catch(() => undefined);
    });
  }

  private setPolicy(o: KubeObject): void {
    this.recordStatus(o);
    const name = o.metadata.name ?? "";
    const generation = o.metadata.generation ?? 0;
    if (this.policies.get(name)?.generation === generation) return;
    const spec = ((o as { spec?: PolicySpec }).spec ?? {}) as PolicySpec;
    this.policies.set(name, { ...compilePolicy(name, spec), generation });
  }

  private follow(info: ResourceInfo, set: (o: KubeObject) => void): void {
    if (this.stopped) return;
    const map = info === POLICIES ? this.policies : this.bindings;
    const prefix = storePrefix(info, "");
    const listed = this.store.list(prefix);
    map.clear();
    for (const o of listed.items) set(o);
    const watch = this.store.watch(prefix, {
      fromRevision: listed.revision,
      onEvent: (e) => {
        if (e.type === "DELETED") map.delete(e.object.metadata.name ?? "");
        else set(e.object);
      },
      onClose: () => {
        this.watches = this.watches.filter((w) => w !== watch);
        this.follow(info, set);
      },
    });
    this.watches.push(watch);
  }

  private exempt(attrs: WriteAttributes): boolean {
    return attrs.info.group === ADMISSION_GROUP && EXEMPT.has(attrs.info.resource);
  }

  /** Whether a bound policy's resourceRules cover the request (cheap; selectors come later). */
  interested(attrs: WriteAttributes): boolean {
    if (this.bindings.size === 0 || this.policies.size === 0 || this.exempt(attrs)) return false;
    const target = matchTarget(attrs);
    const equivalents = this.options.versionsOf(attrs.info);
    for (const binding of this.bindings.values()) {
      const rules = this.policies.get(binding.spec.policyName ?? "")?.spec.matchConstraints;
      if (!rules?.resourceRules?.length) continue;
      const hook = { name: "", clientConfig: {}, rules: rules.resourceRules };
      if (
        matchingVersion(
          { ...hook, matchPolicy: rules.matchPolicy ?? "Equivalent" },
          target,
          equivalents,
        )
      )
        return true;
    }
    return false;
  }

  /** Runs the bound policies; rejects with the first denial. */
  async validate(
    attrs: WriteAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<void> {
    if (!this.interested(attrs)) return;
    const denials = this.decide(attrs, obj, old);
    const first = denials[0];
    if (!first) return;
    const message = `ValidatingAdmissionPolicy '${first.policy}' with binding '${first.binding}' denied request: ${first.message}`;
    const name = attrs.name || (obj ?? old)?.metadata.name || "";
    const resource = groupResource(attrs.info);
    const full = name
      ? `${resource} "${name}" is forbidden: ${message}`
      : `${resource} is forbidden: ${message}`;
    throw new StatusError(CODES[first.reason] ?? 422, first.reason as StatusReason, full, {
      name,
      group: attrs.info.group,
      kind: attrs.info.resource,
      causes: [{ message }],
    });
  }

  private decide(
    attrs: WriteAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Denial[] {
    const { info } = attrs;
    const target = matchTarget(attrs);
    let nsLabels: Record<string, string> | undefined;
    let nsObject: KubeObject | undefined;
    let nsLooked = false;
    const namespace = () => {
      if (!nsLooked && info.namespaced && attrs.namespace) {
        nsObject = this.store.get(storeKey(NAMESPACES, "", attrs.namespace));
        nsLabels = nsObject?.metadata.labels;
      }
      nsLooked = true;
      return nsObject;
    };
    const versions = this.options.versionsOf(info);
    const request: MatchRequest = {
      target,
      name: attrs.name || (obj ?? old)?.metadata.name || "",
      obj,
      old,
      namespaceLabels: () => {
        namespace();
        return nsLabels;
      },
      equivalents: versions,
      isNamespace: info.group === "" && info.resource === "namespaces",
    };
    const denials: Denial[] = [];
    const authorize = authzCheck(this.options.authorizer, attrs.user);
    for (const binding of [...this.bindings.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const policy = this.policies.get(binding.spec.policyName ?? "");
      if (!policy?.spec.matchConstraints) continue;
      const gvr = matchResources(policy.spec.matchConstraints, request, false);
      if (!gvr) continue;
      if (
        binding.spec.matchResources &&
        !matchResources(binding.spec.matchResources, request, true)
      )
        continue;
      const fail = policy.spec.failurePolicy !== "Ignore";
      const configError = (why: string) => {
        if (fail)
          denials.push({
            policy: policy.name,
            binding: binding.name,
            message: `failed to configure binding: ${why}`,
            reason: "Invalid",
          });
      };
      const params = this.params(policy, binding, attrs);
      if (typeof params === "string") {
        configError(params);
        continue;
      }
      const as = this.seenAs(gvr, info);
      const shown = (o: KubeObject | undefined) =>
        o && as.version !== info.version
          ? this.options.convert(o, { group: as.group, version: as.version, kind: as.kind })
          : o;
      const input: AdmissionInput = {
        attrs,
        as,
        obj: shown(obj),
        old: shown(old),
        namespace: namespace(),
        authorize,
      };
      for (const param of params) {
        const decisions = runPolicy(policy, bindingsOf({ ...input, params: param }));
        for (const d of decisions) {
          const actions = binding.spec.validationActions ?? [];
          if (actions.includes("Deny"))
            denials.push({
              policy: policy.name,
              binding: binding.name,
              message: d.message,
              reason: d.reason,
            });
          if (actions.includes("Warn"))
            attrs.warn?.(
              `Validation failed for ValidatingAdmissionPolicy '${policy.name}' with binding '${binding.name}': ${d.message}`,
            );
        }
      }
    }
    return denials;
  }

  private seenAs(gvr: Gvr, info: ResourceInfo): ResourceInfo {
    if (gvr.version === info.version) return info;
    return this.options.versionsOf(info).find((v) => v.version === gvr.version) ?? info;
  }

  /** The params a binding evaluates with (null: the policy has no paramKind), or why none. */
  private params(
    policy: CompiledPolicy,
    binding: Binding,
    attrs: WriteAttributes,
  ): Array<KubeObject | null> | string {
    const kind = policy.spec.paramKind;
    if (!kind) return [null];
    const apiVersion = kind.apiVersion ?? "";
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const gvkText = `${group ? `${group}/` : ""}${version}, Kind=${kind.kind ?? ""}`;
    const info = this.options
      .resources()
      .find((r) => r.group === group && r.version === version && r.kind === kind.kind);
    if (!info) return `failed to find resource referenced by paramKind: '${gvkText}'`;
    const ref = binding.spec.paramRef;
    if (!ref) return `paramKind kind \`${gvkText}\` is defined but paramRef is missing in binding`;
    let namespace = "";
    if (info.namespaced) {
      namespace = ref.namespace || attrs.namespace;
      if (!namespace)
        return "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources";
    }
    let found: KubeObject[];
    if (ref.name) {
      const one = this.store.get(storeKey(info, namespace, ref.name));
      found = one ? [one] : [];
    } else {
      const selector = selectorFromLabelSelector(ref.selector ?? {});
      found = this.store
        .list(storePrefix(info, namespace))
        .items.filter((o) => matches(selector, o.metadata.labels));
    }
    if (found.length > 0) return found;
    if (ref.parameterNotFoundAction === "Allow") return [];
    return "no params found for policy binding with `Deny` parameterNotFoundAction";
  }
}

/**
 * The registry's asynchronous admission: the mutating webhooks, then the policies, then the
 * validating webhooks (kube's plugin order).
 */
export function withPolicies(
  webhooks: WebhookAdmission,
  policies: ValidatingPolicies,
): WebhookAdmission {
  const chained: WebhookAdmission = {
    interested: (attrs) => policies.interested(attrs) || webhooks.interested(attrs),
    mutate: (attrs, obj, old) =>
      webhooks.interested(attrs) ? webhooks.mutate(attrs, obj, old) : Promise.resolve(obj),
    async validate(attrs, obj, old) {
      await policies.validate(attrs, obj, old);
      if (webhooks.interested(attrs)) await webhooks.validate(attrs, obj, old);
    },
  };
  if (webhooks.written) chained.written = webhooks.written.bind(webhooks);
  return chained;
}
