/**
 * The Endpoints object a selector Service should have, as kube's endpoints controller writes it:
 * the Service's labels plus `endpointslice.kubernetes.io/skip-mirror: "true"` (so the mirroring
 * controller leaves it alone) and `service.kubernetes.io/headless` for headless Services;
 * annotations `endpoints.kubernetes.io/last-change-trigger-time` and, when more than 1000
 * addresses were cut, `endpoints.kubernetes.io/over-capacity: truncated`. Legacy Endpoints carry
 * no ownerReference: the controller deletes them with their Service.
 *
 * `planEndpoints` returns undefined when the existing object already says the same (the trigger
 * time alone is no reason to write).
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { Endpoints, Pod, Service } from "kubernetes-types/core/v1.js";
import { desiredSubsets, MAX_ADDRESSES } from "./_subsets.ts";

export const SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror";
export const HEADLESS_LABEL = "service.kubernetes.io/headless";
export const TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";
export const OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity";

export function planEndpoints(
  service: Service,
  pods: readonly Pod[],
  existing: Endpoints | undefined,
  options: { triggerTime?: string; maxAddresses?: number },
): Endpoints | undefined {
  const { subsets, truncated } = desiredSubsets(
    service,
    pods,
    options.maxAddresses ?? MAX_ADDRESSES,
  );
  const labels: Record<string, string> = {
    ...(service.metadata?.labels ?? {}),
    [SKIP_MIRROR_LABEL]: "true",
  };
  if (service.spec?.clusterIP === "None") labels[HEADLESS_LABEL] = "";
  else delete labels[HEADLESS_LABEL];
  const annotations: Record<string, string> = { ...(existing?.metadata?.annotations ?? {}) };
  if (truncated) annotations[OVER_CAPACITY_ANNOTATION] = "truncated";
  else delete annotations[OVER_CAPACITY_ANNOTATION];
  if (
    existing &&
    isDeepStrictEqual(existing.subsets ?? [], subsets) &&
    isDeepStrictEqual(existing.metadata?.labels ?? {}, labels) &&
    isDeepStrictEqual(existing.metadata?.annotations ?? {}, annotations)
  )
    return undefined;
  // As kube's endpoints controller: the time of the change behind this write, or none.
  if (options.triggerTime) annotations[TRIGGER_TIME_ANNOTATION] = options.triggerTime;
  else delete annotations[TRIGGER_TIME_ANNOTATION];
  const next: Endpoints = existing
    ? structuredClone(existing)
    : {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: {
          name: service.metadata?.name ?? "",
          namespace: service.metadata?.namespace ?? "",
        },
      };
  next.metadata = { ...next.metadata, labels, annotations };
  if (subsets.length > 0) next.subsets = subsets;
  else delete next.subsets;
  return next;
}
