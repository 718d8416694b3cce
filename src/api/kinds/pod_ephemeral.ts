/**
 * Ephemeral containers (`spec.ephemeralContainers`), validated as kube's core validation does:
 * inside the pod spec (names unique across every container list, `targetContainerName` naming a
 * container or init container, fields that belong to a workload forbidden, no subPath mounts),
 * refused on create and in pod templates, and through the `pods/ephemeralcontainers`
 * subresource only added: an existing one may be neither changed nor removed.
 *
 * @module
 */
import { type FieldError, fieldDuplicate, fieldForbidden } from "../errors.ts";
import { fieldNotFound } from "./_errors.ts";
import { isObj, type Obj, objs, semanticEqual, str } from "./_util.ts";

/** The fields an ephemeral container may not set (kube's allow list, read the other way). */
const FORBIDDEN_FIELDS = [
  "ports",
  "resources",
  "resizePolicy",
  "restartPolicy",
  "livenessProbe",
  "readinessProbe",
  "startupProbe",
  "lifecycle",
];

const FORBIDDEN = "cannot be set for an Ephemeral Container";

/** Go's zero value as JSON carries it: absent, null, false, 0, "", [] or an object of zeros. */
function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObj(v)) return Object.values(v).every(isZero);
  return false;
}

/**
 * The ephemeral-only rules of `validateEphemeralContainers`; `names` holds the names of the
 * containers and init containers and gains the ephemeral ones. The checks every container has
 * (name, image, env, mounts, policies) are the caller's.
 */
export function validateEphemeralContainers(
  spec: Obj,
  path: string,
  names: Set<string>,
): FieldError[] {
  const errs: FieldError[] = [];
  const targets = new Set(
    [...objs(spec.containers), ...objs(spec.initContainers)].map((c) => str(c.name)),
  );
  objs(spec.ephemeralContainers).forEach((c, i) => {
    const cp = `${path}.ephemeralContainers[${i}]`;
    const name = str(c.name);
    if (name !== "") {
      if (names.has(name)) errs.push(fieldDuplicate(`${cp}.name`, name));
      else names.add(name);
    }
    const target = str(c.targetContainerName);
    if (target !== "" && !targets.has(target)) {
      errs.push(fieldNotFound(`${cp}.targetContainerName`, target));
    }
    for (const f of FORBIDDEN_FIELDS) {
      if (!isZero(c[f])) errs.push(fieldForbidden(`${cp}.${f}`, FORBIDDEN));
    }
    objs(c.volumeMounts).forEach((m, j) => {
      for (const f of ["subPath", "subPathExpr"]) {
        if (str(m[f]) !== "") {
          errs.push(fieldForbidden(`${cp}.volumeMounts[${j}].${f}`, FORBIDDEN));
        }
      }
    });
  });
  return errs;
}

/** ValidatePodCreate's rule: ephemeral containers come only through the subresource. */
export function validateNoEphemeralOnCreate(spec: unknown, path: string): FieldError[] {
  return isObj(spec) && objs(spec.ephemeralContainers).length > 0
    ? [fieldForbidden(`${path}.ephemeralContainers`, "cannot be set on create")]
    : [];
}

/** ValidatePodTemplateSpec's rule: a template has no ephemeral containers. */
export function validateNoEphemeralInTemplate(spec: unknown, path: string): FieldError[] {
  return isObj(spec) && objs(spec.ephemeralContainers).length > 0
    ? [
        fieldForbidden(
          `${path}.ephemeralContainers`,
          "ephemeral containers not allowed in pod template",
        ),
      ]
    : [];
}

/** The mirror-pod annotation of static pods, which have no ephemeral containers. */
const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

/**
 * ValidatePodEphemeralContainersUpdate's own part: a static pod takes none, and every ephemeral
 * container the pod had is still there, unchanged (looked up by name: a patch may reorder them).
 * kube appends a Go diff of a changed container to its message; we end it with the newline only.
 */
export function validateEphemeralContainersUpdate(pod: Obj, old: Obj): FieldError[] {
  const oldMeta = isObj(old.metadata) ? old.metadata : {};
  if (isObj(oldMeta.annotations) && oldMeta.annotations[MIRROR_ANNOTATION] !== undefined) {
    return [fieldForbidden("", "static pods do not support ephemeral containers")];
  }
  const spec = isObj(pod.spec) ? pod.spec : {};
  const oldSpec = isObj(old.spec) ? old.spec : {};
  const now = new Map(objs(spec.ephemeralContainers).map((c) => [str(c.name), c]));
  const errs: FieldError[] = [];
  for (const before of objs(oldSpec.ephemeralContainers)) {
    const name = str(before.name);
    const after = now.get(name);
    if (after === undefined) {
      errs.push(
        fieldForbidden(
          "spec.ephemeralContainers",
          `existing ephemeral containers "${name}" may not be removed\n`,
        ),
      );
    } else if (!semanticEqual(before, after)) {
      errs.push(
        fieldForbidden(
          "spec.ephemeralContainers",
          `existing ephemeral containers "${name}" may not be changed\n`,
        ),
      );
    }
  }
  return errs;
}
