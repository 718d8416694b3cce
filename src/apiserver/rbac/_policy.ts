/**
 * kube-apiserver's bootstrap RBAC policy (1.32), as `kubectl get clusterroles,clusterrolebindings`
 * shows it on a new cluster: the user-facing roles (cluster-admin, and admin, edit and view built by
 * aggregation from the `system:aggregate-to-*` roles), the `system:` roles every user, service
 * account and monitor relies on, and their bindings (`system:masters` → cluster-admin, discovery,
 * basic-user and public-info-viewer for everyone), and the roles of kube's components and
 * controllers (`_components.ts`) with their bindings.
 *
 * Every object carries `kubernetes.io/bootstrapping: rbac-defaults` and (roles and bindings)
 * `rbac.authorization.kubernetes.io/autoupdate: "true"`, as kube marks them.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import {
  COMPONENT_BINDINGS,
  COMPONENT_ROLES,
  CONTROLLER_ROLES,
  type ComponentRule,
} from "./_components.ts";

const GROUP = "rbac.authorization.k8s.io";

/** loopkube's ingress controller's ClusterRole, bound to the ServiceAccount
 *  `kube-system/ingress-controller`. */
export const INGRESS_CONTROLLER_ROLE = "loopkube:ingress-controller";
export const INGRESS_CONTROLLER_ACCOUNT = "ingress-controller";
const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const EVENTS_WRITE = ["create", "patch", "update"];

type Rule = ComponentRule;

const rule = (apiGroups: string[], resources: string[], verbs: string[]): Rule => ({
  apiGroups,
  resources,
  verbs,
});
const urls = (nonResourceURLs: string[], verbs: string[] = ["get"]): Rule => ({
  nonResourceURLs,
  verbs,
});

const AGGREGATE = (to: string) => ({ [`rbac.authorization.k8s.io/aggregate-to-${to}`]: "true" });

interface RoleSpec {
  name: string;
  rules?: Rule[];
  labels?: Record<string, string>;
  /** Aggregated from the roles with this label (`aggregate-to-<x>`). */
  aggregateFrom?: string;
}

const ROLES: RoleSpec[] = [
  {
    name: "cluster-admin",
    rules: [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])],
  },
  { name: "admin", aggregateFrom: "admin" },
  { name: "edit", aggregateFrom: "edit", labels: AGGREGATE("admin") },
  { name: "view", aggregateFrom: "view", labels: AGGREGATE("edit") },
  {
    name: "system:aggregate-to-admin",
    labels: AGGREGATE("admin"),
    rules: [
      rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
      rule([GROUP], ["rolebindings", "roles"], ALL),
    ],
  },
  {
    name: "system:aggregate-to-edit",
    labels: AGGREGATE("edit"),
    rules: [
      rule(
        [""],
        ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"],
        READ,
      ),
      rule([""], ["serviceaccounts"], ["impersonate"]),
      rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], WRITE),
      rule([""], ["pods/eviction"], ["create"]),
      rule(
        [""],
        [
          "configmaps",
          "events",
          "persistentvolumeclaims",
          "replicationcontrollers",
          "replicationcontrollers/scale",
          "secrets",
          "serviceaccounts",
          "services",
          "services/proxy",
        ],
        WRITE,
      ),
      rule([""], ["serviceaccounts/token"], ["create"]),
      rule(
        ["apps"],
        [
          "daemonsets",
          "deployments",
          "deployments/rollback",
          "deployments/scale",
          "replicasets",
          "replicasets/scale",
          "statefulsets",
          "statefulsets/scale",
        ],
        WRITE,
      ),
      rule(["autoscaling"], ["horizontalpodautoscalers"], WRITE),
      rule(["batch"], ["cronjobs", "jobs"], WRITE),
      rule(
        ["extensions"],
        [
          "daemonsets",
          "deployments",
          "deployments/rollback",
          "deployments/scale",
          "ingresses",
          "networkpolicies",
          "replicasets",
          "replicasets/scale",
          "replicationcontrollers/scale",
        ],
        WRITE,
      ),
      rule(["policy"], ["poddisruptionbudgets"], WRITE),
      rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], WRITE),
      rule(["coordination.k8s.io"], ["leases"], ALL),
    ],
  },
  {
    name: "system:aggregate-to-view",
    labels: AGGREGATE("view"),
    rules: [
      rule(
        [""],
        [
          "configmaps",
          "endpoints",
          "persistentvolumeclaims",
          "persistentvolumeclaims/status",
          "pods",
          "replicationcontrollers",
          "replicationcontrollers/scale",
          "serviceaccounts",
          "services",
          "services/status",
        ],
        READ,
      ),
      rule(
        [""],
        [
          "bindings",
          "events",
          "limitranges",
          "namespaces/status",
          "pods/log",
          "pods/status",
          "replicationcontrollers/status",
          "resourcequotas",
          "resourcequotas/status",
        ],
        READ,
      ),
      rule([""], ["namespaces"], READ),
      rule(["discovery.k8s.io"], ["endpointslices"], READ),
      rule(
        ["apps"],
        [
          "controllerrevisions",
          "daemonsets",
          "daemonsets/status",
          "deployments",
          "deployments/scale",
          "deployments/status",
          "replicasets",
          "replicasets/scale",
          "replicasets/status",
          "statefulsets",
          "statefulsets/scale",
          "statefulsets/status",
        ],
        READ,
      ),
      rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], READ),
      rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], READ),
      rule(
        ["extensions"],
        [
          "daemonsets",
          "daemonsets/status",
          "deployments",
          "deployments/scale",
          "deployments/status",
          "ingresses",
          "ingresses/status",
          "networkpolicies",
          "replicasets",
          "replicasets/scale",
          "replicasets/status",
          "replicationcontrollers/scale",
        ],
        READ,
      ),
      rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], READ),
      rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], READ),
    ],
  },
  {
    name: "system:auth-delegator",
    rules: [
      rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
      rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
    ],
  },
  {
    name: "system:basic-user",
    rules: [
      rule(
        ["authorization.k8s.io"],
        ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        ["create"],
      ),
      rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
    ],
  },
  {
    name: "system:discovery",
    rules: [
      urls([
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
      ]),
    ],
  },
  {
    name: "system:monitoring",
    rules: [
      urls([
        "/healthz",
        "/healthz/*",
        "/livez",
        "/livez/*",
        "/metrics",
        "/metrics/slis",
        "/readyz",
        "/readyz/*",
      ]),
    ],
  },
  {
    name: "system:public-info-viewer",
    rules: [urls(["/healthz", "/livez", "/readyz", "/version", "/version/"])],
  },
  {
    name: "system:service-account-issuer-discovery",
    rules: [urls(["/.well-known/openid-configuration", "/openid/v1/jwks"])],
  },
  {
    name: "system:kube-dns",
    rules: [rule([""], ["endpoints", "services"], ["list", "watch"])],
  },
  // Not kube's bootstrap policy but kubeadm's CoreDNS add-on, which loopkube's DNS stands for.
  {
    name: "system:coredns",
    rules: [
      rule([""], ["endpoints", "namespaces", "pods", "services"], ["list", "watch"]),
      rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"]),
    ],
  },
  // Not kube's either: loopkube's ingress controller, under a role modelled on ingress-nginx's
  // ClusterRole, narrowed to what it reads (no ConfigMaps, Pods, Nodes; no leader election).
  {
    name: INGRESS_CONTROLLER_ROLE,
    rules: [
      rule(["networking.k8s.io"], ["ingressclasses", "ingresses"], READ),
      rule(["networking.k8s.io"], ["ingresses/status"], ["update"]),
      rule([""], ["services"], READ),
      rule(["discovery.k8s.io"], ["endpointslices"], READ),
      rule([""], ["secrets"], ["list", "watch"]),
      rule([""], ["events"], ["create", "patch"]),
    ],
  },
  {
    name: "system:node-proxier",
    rules: [
      rule([""], ["endpoints", "services"], ["list", "watch"]),
      rule([""], ["nodes"], READ),
      rule(["", "events.k8s.io"], ["events"], EVENTS_WRITE),
      rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"]),
    ],
  },
  {
    name: "system:heapster",
    rules: [
      rule([""], ["events", "namespaces", "nodes", "pods"], READ),
      rule(["extensions"], ["deployments"], READ),
    ],
  },
];

const CONTROLLER_PREFIX = "system:controller:";

ROLES.push(
  ...COMPONENT_ROLES,
  ...CONTROLLER_ROLES.map((c) => ({ name: `${CONTROLLER_PREFIX}${c.name}`, rules: c.rules })),
);

type SubjectSpec =
  | { kind: "User" | "Group"; name: string }
  | { kind: "ServiceAccount"; name: string; namespace: string };

const group = (name: string): SubjectSpec => ({ kind: "Group", name });
const user = (name: string): SubjectSpec => ({ kind: "User", name });

const BINDINGS: Array<{ name: string; role?: string; subjects: SubjectSpec[] }> = [
  { name: "cluster-admin", subjects: [group("system:masters")] },
  { name: "system:basic-user", subjects: [group("system:authenticated")] },
  { name: "system:discovery", subjects: [group("system:authenticated")] },
  {
    name: "system:public-info-viewer",
    subjects: [group("system:authenticated"), group("system:unauthenticated")],
  },
  { name: "system:monitoring", subjects: [group("system:monitoring")] },
  {
    name: "system:service-account-issuer-discovery",
    subjects: [group("system:serviceaccounts")],
  },
  {
    name: "system:kube-dns",
    subjects: [{ kind: "ServiceAccount", name: "kube-dns", namespace: "kube-system" }],
  },
  {
    name: "system:coredns",
    subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: "kube-system" }],
  },
  {
    name: INGRESS_CONTROLLER_ROLE,
    subjects: [
      { kind: "ServiceAccount", name: INGRESS_CONTROLLER_ACCOUNT, namespace: "kube-system" },
    ],
  },
  { name: "system:node-proxier", subjects: [user("system:kube-proxy")] },
  ...COMPONENT_BINDINGS.map((b) => ({ name: b.name, role: b.role, subjects: b.users.map(user) })),
  ...CONTROLLER_ROLES.map((c) => ({
    name: `${CONTROLLER_PREFIX}${c.name}`,
    subjects: [{ kind: "ServiceAccount" as const, name: c.name, namespace: "kube-system" }],
  })),
];

const BOOTSTRAP_LABELS = { "kubernetes.io/bootstrapping": "rbac-defaults" };
const AUTOUPDATE = { "rbac.authorization.kubernetes.io/autoupdate": "true" };

/** The bootstrap ClusterRoles, as objects to create. */
export function bootstrapClusterRoles(): KubeObject[] {
  return ROLES.map((r) => {
    const obj: KubeObject = {
      apiVersion: `${GROUP}/v1`,
      kind: "ClusterRole",
      metadata: {
        name: r.name,
        labels: { ...BOOTSTRAP_LABELS, ...r.labels },
        annotations: { ...AUTOUPDATE },
      },
    };
    if (r.aggregateFrom) {
      obj.aggregationRule = { clusterRoleSelectors: [{ matchLabels: AGGREGATE(r.aggregateFrom) }] };
      obj.rules = [];
    } else obj.rules = structuredClone(r.rules ?? []);
    return obj;
  });
}

/** The bootstrap ClusterRoleBindings, as objects to create. */
export function bootstrapClusterRoleBindings(): KubeObject[] {
  return BINDINGS.map((b) => ({
    apiVersion: `${GROUP}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name: b.name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
    roleRef: { apiGroup: GROUP, kind: "ClusterRole", name: b.role ?? b.name },
    // A binding without subjects (kube's `system:node`) has no `subjects` at all, as kube's.
    ...(b.subjects.length > 0
      ? {
          subjects: b.subjects.map((s) =>
            s.kind === "ServiceAccount"
              ? { kind: s.kind, name: s.name, namespace: s.namespace }
              : { apiGroup: GROUP, kind: s.kind, name: s.name },
          ),
        }
      : {}),
  }));
}
