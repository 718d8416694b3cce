/**
 * Conversion between the served versions of a kind served in more than one (kube-apiserver's
 * conversion through the internal version). Only HorizontalPodAutoscaler has two versions today
 * (`autoscaling/v1` and the stored `autoscaling/v2`); every other kind is served in one version
 * and never converted. Pure: the input is never modified.
 *
 * @module
 */
import { apiVersionOf, type GroupVersionKind, type KubeObject } from "../types.ts";
import { ConversionError, hpaToV1, hpaToV2, hpaV2View } from "./hpa_convert.ts";

export { ConversionError } from "./hpa_convert.ts";

/** `obj` (of any served version of its kind) in the version `to` names. */
export function convertObject(obj: KubeObject, to: GroupVersionKind): KubeObject {
  if (to.group === "autoscaling" && to.kind === "HorizontalPodAutoscaler") {
    const from = obj.apiVersion;
    if (to.version === "v1") return from === "autoscaling/v1" ? structuredClone(obj) : hpaToV1(obj);
    if (to.version === "v2") return from === "autoscaling/v1" ? hpaToV2(obj) : hpaV2View(obj);
    throw new ConversionError(`no conversion to autoscaling/${to.version}`);
  }
  const out = structuredClone(obj);
  out.apiVersion = apiVersionOf(to.group, to.version);
  out.kind = to.kind;
  return out;
}
