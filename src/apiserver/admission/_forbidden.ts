/**
 * kube's `admission.NewForbidden`: `<resource> "<name>" is forbidden: <why>`, 403, with the
 * name and resource in the details. Admission runs before kube-apiserver generates a name, so an
 * object created with `generateName` is named by its prefix (`pods "web-7d9f8-" is forbidden`);
 * loopkube's registry has already filled the name, which such a prefix plus five characters
 * betrays.
 *
 * @module
 */
import { qualifiedResource, StatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { ResourceInfo } from "../resources.ts";

const GENERATED_SUFFIX = 5;

export function admissionName(obj: KubeObject): string {
  const { name = "", generateName } = obj.metadata;
  if (
    generateName &&
    name.startsWith(generateName) &&
    name.length === generateName.length + GENERATED_SUFFIX
  )
    return generateName;
  return name;
}

export function admissionForbidden(info: ResourceInfo, obj: KubeObject, why: string): StatusError {
  const name = admissionName(obj) || "Unknown";
  return new StatusError(
    403,
    "Forbidden",
    `${qualifiedResource(info.resource, info.group)} "${name}" is forbidden: ${why}`,
    { name, kind: info.resource, ...(info.group ? { group: info.group } : {}) },
  );
}
