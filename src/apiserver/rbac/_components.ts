/**
 * kube's bootstrap ClusterRoles for its components (1.32): the scheduler, the controller manager,
 * the node, the volume scheduler, and the `system:controller:<name>` role of each controller
 * loopkube runs, bound to the ServiceAccount `kube-system/<name>` as kube-controller-manager's
 * `--use-service-account-credentials` uses them. Rules are written as kube's policy builder
 * renders them: verbs, groups, resources and names sorted.
 *
 * @module
 */

export interface ComponentRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

const sorted = (xs: string[]) => [...new Set(xs)].sort();

/** `r("get list watch", ["", "apps"], "pods nodes")`, sorted as kube's builder sorts. */
function r(verbs: string, groups: string[], resources: string, names?: string): ComponentRule {
  const rule: ComponentRule = {
    apiGroups: sorted(groups),
    resources: sorted(resources.split(" ")),
    verbs: sorted(verbs.split(" ")),
  };
  if (names) rule.resourceNames = sorted(names.split(" "));
  return rule;
}

/** A controller's own resource: `verbs` on it, `update` on its status and its finalizers. */
function owned(verbs: string, groups: string[], resource: string): ComponentRule[] {
  return [
    r(verbs, groups, resource),
    r("update", groups, `${resource}/status`),
    r("update", groups, `${resource}/finalizers`),
  ];
}

const CORE = [""];
const APPS_EXT = ["apps", "extensions"];
const READ = "get list watch";
/** Every verb a controller uses on what it creates and removes. */
const MANAGE = "create delete get list patch update watch";
const EVENTS = r("create patch update", ["", "events.k8s.io"], "events");
/** What a controller needs of the pods it makes and removes. */
const POD_CONTROL = r("create delete list patch watch", CORE, "pods");
/** Creating leases, and updating the leader-election lease `name`. */
const LEADER_LEASE = (name: string) => [
  r("create", ["coordination.k8s.io"], "leases"),
  r("get update", ["coordination.k8s.io"], "leases", name),
];
const TOKEN_REVIEWS = r("create", ["authentication.k8s.io"], "tokenreviews");
const ACCESS_REVIEWS = r("create", ["authorization.k8s.io"], "subjectaccessreviews");

export const COMPONENT_ROLES: Array<{ name: string; rules: ComponentRule[] }> = [
  {
    name: "system:kube-scheduler",
    rules: [
      EVENTS,
      ...LEADER_LEASE("kube-scheduler"),
      r(READ, CORE, "nodes"),
      r("delete get list watch", CORE, "pods"),
      r("create", CORE, "bindings pods/binding"),
      r("patch update", CORE, "pods/status"),
      r(READ, CORE, "replicationcontrollers services"),
      r(READ, APPS_EXT, "replicasets"),
      r(READ, ["apps"], "statefulsets"),
      r(READ, ["policy"], "poddisruptionbudgets"),
      r(READ, CORE, "persistentvolumeclaims persistentvolumes"),
      TOKEN_REVIEWS,
      ACCESS_REVIEWS,
      r(READ, ["storage.k8s.io"], "csinodes"),
      r(READ, CORE, "namespaces"),
      r(READ, ["storage.k8s.io"], "csidrivers"),
      r(READ, ["storage.k8s.io"], "csistoragecapacities"),
    ],
  },
  {
    name: "system:kube-controller-manager",
    rules: [
      EVENTS,
      ...LEADER_LEASE("kube-controller-manager"),
      r("create", CORE, "secrets serviceaccounts"),
      r("delete", CORE, "secrets"),
      r("get", CORE, "configmaps namespaces secrets serviceaccounts"),
      r("update", CORE, "secrets serviceaccounts"),
      TOKEN_REVIEWS,
      ACCESS_REVIEWS,
      r("list watch", ["*"], "*"),
      r("create", CORE, "serviceaccounts/token"),
    ],
  },
  {
    name: "system:node",
    rules: [
      TOKEN_REVIEWS,
      r("create", ["authorization.k8s.io"], "localsubjectaccessreviews subjectaccessreviews"),
      r(READ, CORE, "services"),
      r("create get list watch", CORE, "nodes"),
      r("patch update", CORE, "nodes/status"),
      r("patch update", CORE, "nodes"),
      r("create patch update", CORE, "events"),
      r(READ, CORE, "pods"),
      r("create delete", CORE, "pods"),
      r("patch update", CORE, "pods/status"),
      r("create", CORE, "pods/eviction"),
      r(READ, CORE, "configmaps secrets"),
      r("get", CORE, "persistentvolumeclaims persistentvolumes"),
      r("get", CORE, "endpoints"),
      r("create get list watch", ["certificates.k8s.io"], "certificatesigningrequests"),
      r("create delete get patch update", ["coordination.k8s.io"], "leases"),
      r("get", ["storage.k8s.io"], "volumeattachments"),
      r("create", CORE, "serviceaccounts/token"),
      r("get patch update", CORE, "persistentvolumeclaims/status"),
      r(READ, ["storage.k8s.io"], "csidrivers"),
      r("create delete get patch update", ["storage.k8s.io"], "csinodes"),
      r(READ, ["node.k8s.io"], "runtimeclasses"),
    ],
  },
  {
    name: "system:volume-scheduler",
    rules: [
      r("get list patch update watch", CORE, "persistentvolumes"),
      r(READ, ["storage.k8s.io"], "storageclasses"),
      r("get list patch update watch", CORE, "persistentvolumeclaims"),
    ],
  },
];

/** Bindings of the component roles: the scheduler and controller manager users; nodes none. */
export const COMPONENT_BINDINGS: Array<{ name: string; role: string; users: string[] }> = [
  {
    name: "system:kube-scheduler",
    role: "system:kube-scheduler",
    users: ["system:kube-scheduler"],
  },
  {
    name: "system:kube-controller-manager",
    role: "system:kube-controller-manager",
    users: ["system:kube-controller-manager"],
  },
  {
    name: "system:volume-scheduler",
    role: "system:volume-scheduler",
    users: ["system:kube-scheduler"],
  },
  // kube keeps this binding without subjects (the Node authorizer grants nodes instead).
  { name: "system:node", role: "system:node", users: [] },
];

/** `system:controller:<name>` roles of the controllers loopkube runs, by ServiceAccount name. */
export const CONTROLLER_ROLES: Array<{ name: string; rules: ComponentRule[] }> = [
  {
    name: "clusterrole-aggregation-controller",
    rules: [
      r("escalate get list patch update watch", ["rbac.authorization.k8s.io"], "clusterroles"),
    ],
  },
  {
    name: "cronjob-controller",
    rules: [
      r("get list update watch", ["batch"], "cronjobs"),
      r(MANAGE, ["batch"], "jobs"),
      r("update", ["batch"], "cronjobs/status"),
      r("update", ["batch"], "cronjobs/finalizers"),
      r("delete list watch", CORE, "pods"),
      EVENTS,
    ],
  },
  {
    name: "daemon-set-controller",
    rules: [
      ...owned(READ, APPS_EXT, "daemonsets"),
      r("list watch", CORE, "nodes"),
      POD_CONTROL,
      r("create", CORE, "pods/binding"),
      r(MANAGE, ["apps"], "controllerrevisions"),
      EVENTS,
    ],
  },
  {
    name: "deployment-controller",
    rules: [
      ...owned("get list update watch", APPS_EXT, "deployments"),
      r(MANAGE, APPS_EXT, "replicasets"),
      r("get list update watch", CORE, "pods"),
      EVENTS,
    ],
  },
  {
    name: "disruption-controller",
    rules: [
      r(READ, APPS_EXT, "deployments"),
      r(READ, APPS_EXT, "replicasets"),
      r(READ, CORE, "replicationcontrollers"),
      r(READ, ["policy"], "poddisruptionbudgets"),
      r(READ, ["apps"], "statefulsets"),
      r("update", ["policy"], "poddisruptionbudgets/status"),
      r("patch update", CORE, "pods/status"),
      r("get", ["*"], "*/scale"),
      EVENTS,
    ],
  },
  {
    name: "endpoint-controller",
    rules: [
      r(READ, CORE, "pods services"),
      r("create delete get list update watch", CORE, "endpoints"),
      r("create", CORE, "endpoints/restricted"),
      EVENTS,
    ],
  },
  {
    name: "endpointslice-controller",
    rules: [
      r(READ, CORE, "nodes pods services"),
      r("update", CORE, "services/finalizers"),
      r("create delete get list update watch", ["discovery.k8s.io"], "endpointslices"),
      EVENTS,
    ],
  },
  {
    name: "generic-garbage-collector",
    rules: [r("delete get list patch update watch", ["*"], "*"), EVENTS],
  },
  {
    name: "horizontal-pod-autoscaler",
    rules: [
      r(READ, ["autoscaling"], "horizontalpodautoscalers"),
      r("update", ["autoscaling"], "horizontalpodautoscalers/status"),
      r("get update", ["*"], "*/scale"),
      r("list watch", CORE, "pods"),
      r("list watch", ["metrics.k8s.io"], "pods"),
      r(READ, ["custom.metrics.k8s.io"], "*"),
      r(READ, ["external.metrics.k8s.io"], "*"),
      EVENTS,
    ],
  },
  {
    name: "job-controller",
    rules: [...owned("get list patch update watch", ["batch"], "jobs"), POD_CONTROL, EVENTS],
  },
  {
    name: "namespace-controller",
    rules: [
      r("delete get list watch", CORE, "namespaces"),
      r("update", CORE, "namespaces/finalize namespaces/status"),
      r("delete deletecollection get list watch", ["*"], "*"),
    ],
  },
  {
    name: "node-controller",
    rules: [
      r("delete get list patch update watch", CORE, "nodes"),
      r("patch update", CORE, "nodes/status"),
      r("patch update", CORE, "pods/status"),
      r("delete get list watch", CORE, "pods"),
      EVENTS,
    ],
  },
  {
    name: "persistent-volume-binder",
    rules: [
      r("create delete get list update watch", CORE, "persistentvolumes"),
      r("update", CORE, "persistentvolumes/status"),
      r("get list update watch", CORE, "persistentvolumeclaims"),
      r("update", CORE, "persistentvolumeclaims/status"),
      r("create delete get list watch", CORE, "pods"),
      r(READ, ["storage.k8s.io"], "storageclasses"),
      r("list watch", CORE, "nodes"),
      EVENTS,
      r("watch", CORE, "events"),
      r("get", CORE, "services"),
    ],
  },
  {
    name: "replicaset-controller",
    rules: [...owned("get list update watch", APPS_EXT, "replicasets"), POD_CONTROL, EVENTS],
  },
  {
    name: "replication-controller",
    rules: [...owned("get list update watch", CORE, "replicationcontrollers"), POD_CONTROL, EVENTS],
  },
  {
    name: "resourcequota-controller",
    rules: [r("list watch", ["*"], "*"), r("update", CORE, "resourcequotas/status"), EVENTS],
  },
  {
    name: "root-ca-cert-publisher",
    rules: [r("create update", CORE, "configmaps"), EVENTS],
  },
  {
    name: "service-controller",
    rules: [
      r(READ, CORE, "services"),
      r("patch update", CORE, "services/status"),
      r("list watch", CORE, "nodes"),
      EVENTS,
    ],
  },
  {
    name: "service-account-controller",
    rules: [r("create", CORE, "serviceaccounts"), EVENTS],
  },
  {
    name: "statefulset-controller",
    rules: [
      r("list watch", CORE, "pods"),
      ...owned(READ, ["apps"], "statefulsets"),
      r("create delete get patch update", CORE, "pods"),
      r(MANAGE, ["apps"], "controllerrevisions"),
      r("create get list watch", CORE, "persistentvolumeclaims"),
      r("delete update", CORE, "persistentvolumeclaims"),
      r("update", CORE, "pods/finalizers"),
      EVENTS,
    ],
  },
  {
    name: "ttl-after-finished-controller",
    rules: [r("delete get list watch", ["batch"], "jobs"), EVENTS],
  },
];
