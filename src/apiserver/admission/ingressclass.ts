/**
 * DefaultIngressClass admission, as kube-apiserver's plugin of that name: an Ingress created
 * with neither `spec.ingressClassName` nor the legacy `kubernetes.io/ingress.class` annotation
 * gets the name of the IngressClass annotated `ingressclass.kubernetes.io/is-default-class:
 * "true"`. When several are marked, the newest wins (ties by name), as since Kubernetes 1.25.
 * Updates are left alone, as upstream.
 *
 * @module
 */
import {
  DEFAULT_INGRESS_CLASS_ANNOTATION,
  INGRESS_CLASS_ANNOTATION,
} from "../../api/kinds/index.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { Admission } from "../registry/index.ts";
import { findResource, storePrefix } from "../resources.ts";

export function defaultIngressClassName(store: Store): string | undefined {
  const info = findResource("networking.k8s.io", "ingressclasses");
  if (info === undefined) return undefined;
  const defaults = store
    .list(storePrefix(info, ""))
    .items.filter((c) => c.metadata.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === "true");
  defaults.sort(
    (a, b) =>
      String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)) ||
      String(a.metadata.name).localeCompare(String(b.metadata.name)),
  );
  return defaults[0]?.metadata.name;
}

export function defaultIngressClassAdmission(store: Store): Admission {
  return {
    create(info, obj: KubeObject) {
      if (info.group !== "networking.k8s.io" || info.resource !== "ingresses") return undefined;
      const spec = (obj.spec ?? {}) as { ingressClassName?: string | null };
      if (spec.ingressClassName !== undefined && spec.ingressClassName !== null) return undefined;
      if (obj.metadata.annotations?.[INGRESS_CLASS_ANNOTATION] !== undefined) return undefined;
      const name = defaultIngressClassName(store);
      if (name) obj.spec = { ...spec, ingressClassName: name };
      return undefined;
    },
  };
}
