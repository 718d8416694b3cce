/**
 * apps/v1 statefulsets: SetDefaults_StatefulSet (replicas 1, OrderedReady, RollingUpdate with
 * partition 0, revisionHistoryLimit 10, Retain/Retain claim retention, claim template defaults),
 * ValidateStatefulSet and ValidateStatefulSetUpdate with kube's messages, and the
 * `kubectl get sts` columns.
 *
 * `spec.serviceName` is optional, as it always was on the server; since Kubernetes 1.33 a
 * non-empty one must be a DNS-1123 label (it becomes each pod's subdomain), and so here.
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldForbidden, fieldInvalid, fieldRequired } from "../errors.ts";
import { isDNS1123Label } from "../validation.ts";
import { AGE, CONTAINERS, column, IMAGES, NAME } from "./_columns.ts";
import {
  at,
  child,
  containerCells,
  isObj,
  num,
  type Obj,
  objs,
  semanticEqual,
  setDefault,
  str,
} from "./_util.ts";
import {
  dropDisabledTemplateFields,
  nonNegative,
  validateSelectorAndTemplate,
} from "./_workload.ts";
import {
  nameIsDNSSubdomain,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";
import { defaultPodTemplate } from "./pod_defaults.ts";
import { defaultPVC, validatePVCSpec } from "./storage.ts";
import type { KindStrategy } from "./types.ts";

export const STATEFULSET_UPDATE_FORBIDDEN =
  "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

export function defaultStatefulSet(sts: Obj): void {
  const spec = child(sts, "spec");
  setDefault(spec, "podManagementPolicy", "OrderedReady");
  const strategy = child(spec, "updateStrategy");
  if (strategy.type === undefined || strategy.type === null || strategy.type === "") {
    strategy.type = "RollingUpdate";
    if (!isObj(strategy.rollingUpdate)) strategy.rollingUpdate = {};
  }
  if (strategy.type === "RollingUpdate" && isObj(strategy.rollingUpdate)) {
    setDefault(strategy.rollingUpdate, "partition", 0);
  }
  const retention = child(spec, "persistentVolumeClaimRetentionPolicy");
  setDefault(retention, "whenDeleted", "Retain");
  setDefault(retention, "whenScaled", "Retain");
  setDefault(spec, "replicas", 1);
  setDefault(spec, "revisionHistoryLimit", 10);
  defaultPodTemplate(spec.template);
  for (const t of objs(spec.volumeClaimTemplates)) {
    setDefault(t, "apiVersion", "v1");
    setDefault(t, "kind", "PersistentVolumeClaim");
    defaultPVC(t);
  }
}

const RETENTION = ["Retain", "Delete"];

/**
 * The spec as its pods will be: each volumeClaimTemplate becomes a volume of the pod template
 * (the controller adds it), so container volumeMounts may name a claim template. Kube skips pod
 * spec validation for StatefulSet templates for this reason; we validate the union instead.
 */
function withClaimVolumes(spec: Obj): Obj {
  const claims = objs(spec.volumeClaimTemplates)
    .map((t) => str(at(t, "metadata", "name")))
    .filter((n) => n !== "");
  const template = spec.template;
  if (claims.length === 0 || !isObj(template) || !isObj(template.spec)) return spec;
  const volumes = objs(template.spec.volumes);
  const have = new Set(volumes.map((v) => str(v.name)));
  const extra = claims
    .filter((n) => !have.has(n))
    .map((n) => ({ name: n, persistentVolumeClaim: { claimName: n } }));
  return {
    ...spec,
    template: { ...template, spec: { ...template.spec, volumes: [...volumes, ...extra] } },
  };
}

function validateStatefulSetSpec(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const policy = str(spec.podManagementPolicy);
  if (policy === "") errs.push(fieldRequired("spec.podManagementPolicy"));
  else if (policy !== "OrderedReady" && policy !== "Parallel") {
    errs.push(
      fieldInvalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"),
    );
  }
  const strategy: Obj = isObj(spec.updateStrategy) ? spec.updateStrategy : {};
  switch (strategy.type) {
    case undefined:
    case null:
    case "":
      errs.push(fieldRequired("spec.updateStrategy"));
      break;
    case "OnDelete":
      if (strategy.rollingUpdate !== undefined && strategy.rollingUpdate !== null) {
        errs.push(
          fieldInvalid(
            "spec.updateStrategy.rollingUpdate",
            strategy.rollingUpdate,
            "only allowed for updateStrategy 'RollingUpdate'",
          ),
        );
      }
      break;
    case "RollingUpdate":
      errs.push(
        ...nonNegative(
          at(strategy, "rollingUpdate", "partition"),
          "spec.updateStrategy.rollingUpdate.partition",
        ),
      );
      break;
    default:
      errs.push(
        fieldInvalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'"),
      );
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy;
  if (isObj(retention)) {
    for (const f of ["whenDeleted", "whenScaled"]) {
      const v = str(retention[f]);
      if (!RETENTION.includes(v)) {
        errs.push({
          type: "FieldValueNotSupported",
          field: `spec.persistentVolumeClaimRetentionPolicy.${f}`,
          message: `Unsupported value: ${JSON.stringify(v)}: supported values: "Retain", "Delete"`,
        });
      }
    }
  }
  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  errs.push(...nonNegative(at(spec, "ordinals", "start"), "spec.ordinals.start"));
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  const serviceName = str(spec.serviceName);
  if (serviceName !== "") {
    for (const m of isDNS1123Label(serviceName))
      errs.push(fieldInvalid("spec.serviceName", serviceName, m));
  }
  errs.push(...validateSelectorAndTemplate(withClaimVolumes(spec), "statefulset", "StatefulSet"));
  objs(spec.volumeClaimTemplates).forEach((t, i) => {
    const p = `spec.volumeClaimTemplates[${i}]`;
    if (str(at(t, "metadata", "name")) === "") errs.push(fieldRequired(`${p}.metadata.name`));
    errs.push(...validateLabels(at(t, "metadata", "labels"), `${p}.metadata.labels`));
    errs.push(...validatePVCSpec(t.spec, `${p}.spec`));
  });
  return errs;
}

function validateStatefulSetUpdate(spec: Obj, oldSpec: Obj): FieldError[] {
  const clone: Obj = structuredClone(spec);
  for (const f of [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
  ]) {
    clone[f] = oldSpec[f];
  }
  return semanticEqual(clone, oldSpec)
    ? []
    : [fieldForbidden("spec", STATEFULSET_UPDATE_FORBIDDEN)];
}

export const statefulSetStrategy: KindStrategy = {
  group: "apps",
  version: "v1",
  kind: "StatefulSet",
  resource: "statefulsets",
  singular: "statefulset",
  shortNames: ["sts"],
  categories: ["all"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults(obj) {
    defaultStatefulSet(obj as Obj);
  },
  prepareForCreate(obj) {
    // Users cannot create status; the controller fills it in.
    delete obj.status;
    dropDisabledTemplateFields(obj);
  },
  prepareForUpdate(obj, old) {
    dropDisabledTemplateFields(obj, old);
  },
  validate(obj) {
    return [
      ...validateObjectMeta(obj.metadata, { namespaced: true, nameRule: nameIsDNSSubdomain }),
      ...validateStatefulSetSpec(isObj(obj.spec) ? obj.spec : {}),
    ];
  },
  validateUpdate(obj, old) {
    const spec = isObj(obj.spec) ? obj.spec : {};
    return [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateStatefulSetSpec(spec),
      ...validateStatefulSetUpdate(spec, isObj(old.spec) ? old.spec : {}),
    ];
  },
  columns: [
    NAME,
    column("Ready", "string", "Number of the pod with ready state"),
    AGE,
    CONTAINERS,
    IMAGES,
  ],
  row(obj, now) {
    const [containers, images] = containerCells(at(obj, "spec", "template", "spec"));
    return [
      obj.metadata.name ?? "",
      `${num(at(obj, "status", "readyReplicas"))}/${num(at(obj, "spec", "replicas"))}`,
      sinceTimestamp(obj.metadata.creationTimestamp, now),
      containers,
      images,
    ];
  },
};
