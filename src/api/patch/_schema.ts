/**
 * Per-kind patch metadata for built-in kinds: which lists merge and by which key, which are
 * primitive merge lists (sets), which maps retain only listed keys, and which values server-side
 * apply treats as atomic. Read from the `patchStrategy`/`patchMergeKey` struct tags and the
 * `listType`/`listMapKey`/`structType`/`mapType` markers of k8s.io/api (core/v1, apps/v1,
 * batch/v1, discovery/v1) and ObjectMeta; only the fields that change merging are listed —
 * every other map merges and every other list is replaced (atomic).
 *
 * Rules are written as dotted paths over the object; `[]` steps into the elements of a list
 * (`spec.template.spec.containers[].ports`).
 *
 * @module
 */

export interface FieldRule {
  /** patchStrategy=merge on a list of objects, merged by this key (patchMergeKey). */
  mergeKey?: string;
  /** patchStrategy=merge on a list of scalars: the list merges as a set. */
  primitiveMerge?: true;
  /** patchStrategy contains retainKeys (a map, or each element of a merge list). */
  retainKeys?: true;
  /** Server-side apply: the value is owned and replaced as a whole (structType/mapType atomic). */
  atomic?: true;
  /** Server-side apply keys when they differ from `mergeKey` (listMapKey), with defaults. */
  ssaKeys?: string[];
  keyDefaults?: Record<string, string | number>;
}

/** A compiled node: the rule for this value plus its children. */
export interface SchemaNode {
  rule?: FieldRule;
  fields?: Map<string, SchemaNode>;
  /** The element schema of a list. */
  items?: SchemaNode;
  /** The schema of every field `fields` does not name (a map's values: `additionalProperties`). */
  additional?: SchemaNode;
}

type Rules = Record<string, FieldRule>;

const CONTAINER: Rules = {
  ports: {
    mergeKey: "containerPort",
    ssaKeys: ["containerPort", "protocol"],
    keyDefaults: { protocol: "TCP" },
  },
  env: { mergeKey: "name" },
  volumeMounts: { mergeKey: "mountPath" },
  volumeDevices: { mergeKey: "devicePath" },
};

const POD_SPEC: Rules = {
  volumes: { mergeKey: "name", retainKeys: true },
  initContainers: { mergeKey: "name" },
  containers: { mergeKey: "name" },
  ephemeralContainers: { mergeKey: "name" },
  imagePullSecrets: { mergeKey: "name" },
  hostAliases: { mergeKey: "ip" },
  topologySpreadConstraints: {
    mergeKey: "topologyKey",
    ssaKeys: ["topologyKey", "whenUnsatisfiable"],
  },
  schedulingGates: { mergeKey: "name" },
  resourceClaims: { mergeKey: "name", retainKeys: true },
  ...prefixed("initContainers[].", CONTAINER),
  ...prefixed("containers[].", CONTAINER),
  ...prefixed("ephemeralContainers[].", CONTAINER),
};

const POD_STATUS: Rules = {
  conditions: { mergeKey: "type" },
  podIPs: { mergeKey: "ip" },
  hostIPs: { mergeKey: "ip" },
  resourceClaimStatuses: { mergeKey: "name", retainKeys: true },
};

const OBJECT_META: Rules = {
  finalizers: { primitiveMerge: true },
  ownerReferences: { mergeKey: "uid" },
};

const CONDITIONS: Rules = { "status.conditions": { mergeKey: "type" } };

function prefixed(prefix: string, rules: Rules): Rules {
  const out: Rules = {};
  for (const [path, rule] of Object.entries(rules)) out[prefix + path] = rule;
  return out;
}

/** A pod template at `at` (`spec.template`): its metadata and its pod spec. */
function template(at: string): Rules {
  return { ...prefixed(`${at}.metadata.`, OBJECT_META), ...prefixed(`${at}.spec.`, POD_SPEC) };
}

/** LabelSelector is structType=atomic: server-side apply owns it whole. */
const ATOMIC_SELECTOR: Rules = { "spec.selector": { atomic: true } };

const WORKLOAD: Rules = { ...template("spec.template"), ...ATOMIC_SELECTOR, ...CONDITIONS };

const KINDS: Record<string, Rules> = {
  "/Pod": { ...prefixed("spec.", POD_SPEC), ...prefixed("status.", POD_STATUS) },
  "/PodTemplate": template("template"),
  "/ReplicationController": { ...template("spec.template"), ...CONDITIONS },
  "/Service": {
    "spec.ports": {
      mergeKey: "port",
      ssaKeys: ["port", "protocol"],
      keyDefaults: { protocol: "TCP" },
    },
    "spec.selector": { atomic: true },
    ...CONDITIONS,
  },
  "/Node": {
    "spec.podCIDRs": { primitiveMerge: true },
    "status.conditions": { mergeKey: "type" },
    "status.addresses": { mergeKey: "type" },
  },
  "/Namespace": CONDITIONS,
  "/ServiceAccount": { secrets: { mergeKey: "name" } },
  "/PersistentVolumeClaim": CONDITIONS,
  "/ConfigMap": {},
  "/Secret": {},
  "/Endpoints": {},
  "/Event": {},
  "discovery.k8s.io/EndpointSlice": {},
  "apps/Deployment": { ...WORKLOAD, "spec.strategy": { retainKeys: true } },
  "apps/ReplicaSet": WORKLOAD,
  "apps/StatefulSet": WORKLOAD,
  "apps/DaemonSet": WORKLOAD,
  "apps/ControllerRevision": {},
  "batch/Job": WORKLOAD,
  "batch/CronJob": template("spec.jobTemplate.spec.template"),
  "coordination.k8s.io/Lease": {},
  "admissionregistration.k8s.io/MutatingWebhookConfiguration": { webhooks: { mergeKey: "name" } },
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration": { webhooks: { mergeKey: "name" } },
};

function insert(root: SchemaNode, path: string, rule: FieldRule): void {
  let node = root;
  for (const step of path.split(".")) {
    const isList = step.endsWith("[]");
    const name = isList ? step.slice(0, -2) : step;
    node.fields ??= new Map();
    let child = node.fields.get(name);
    if (!child) {
      child = {};
      node.fields.set(name, child);
    }
    node = child;
    if (isList) {
      node.items ??= {};
      node = node.items;
    }
  }
  node.rule = rule;
}

function compile(rules: Rules): SchemaNode {
  const root: SchemaNode = {};
  // Every object carries ObjectMeta, so its finalizers/ownerReferences merge for any kind.
  for (const [path, rule] of Object.entries(prefixed("metadata.", OBJECT_META))) {
    insert(root, path, rule);
  }
  for (const [path, rule] of Object.entries(rules)) insert(root, path, rule);
  return root;
}

const compiled = new Map<string, SchemaNode>();
const GENERIC = compile({});

export interface GroupKind {
  group: string;
  kind: string;
}

/** The schema of a built-in kind, or undefined for kinds we hold no patch metadata for. */
export function builtinSchema(gk: GroupKind): SchemaNode | undefined {
  const id = `${gk.group}/${gk.kind}`;
  const rules = KINDS[id];
  if (!rules) return undefined;
  let node = compiled.get(id);
  if (!node) {
    node = compile(rules);
    compiled.set(id, node);
  }
  return node;
}

/**
 * The schema used for a kind: its built-in table, or for any other kind ObjectMeta's rules only
 * (maps merge, lists replace).
 */
export function schemaFor(gk: GroupKind): SchemaNode {
  return builtinSchema(gk) ?? GENERIC;
}

export function childField(node: SchemaNode | undefined, name: string): SchemaNode | undefined {
  return node?.fields?.get(name) ?? node?.additional;
}

/**
 * A kind's schema from elsewhere (a CustomResourceDefinition's) with ObjectMeta's rules under
 * `metadata`, as every object has them.
 */
export function withObjectMeta(root: SchemaNode): SchemaNode {
  const fields = new Map(root.fields ?? []);
  const meta = GENERIC.fields?.get("metadata");
  if (meta) fields.set("metadata", meta);
  return { ...root, fields };
}
