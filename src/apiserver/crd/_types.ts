/**
 * The parts of an `apiextensions.k8s.io/v1` CustomResourceDefinition loopkube reads, and small
 * readers over them. Objects come from the store (already validated), so readers trust shapes
 * but still tolerate absent optional fields.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";

export const CRD_GROUP = "apiextensions.k8s.io";
/** The finalizer kube's CRD storage adds on delete; removed once every object is gone. */
export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

export interface CrdNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  subresources?: {
    status?: object;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: PrinterColumn[];
}

export interface CrdSpec {
  group: string;
  names: CrdNames;
  scope: string;
  versions: CrdVersion[];
  conversion?: { strategy: string };
  preserveUnknownFields?: boolean;
}

export interface CrdCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface CrdStatus {
  conditions?: CrdCondition[];
  acceptedNames?: Partial<CrdNames>;
  storedVersions?: string[];
}

export function specOf(crd: KubeObject): CrdSpec {
  return (crd.spec ?? {}) as CrdSpec;
}

export function statusOf(crd: KubeObject): CrdStatus {
  return (crd.status ?? {}) as CrdStatus;
}

export function conditionOf(crd: KubeObject, type: string): CrdCondition | undefined {
  return statusOf(crd).conditions?.find((c) => c.type === type);
}

export function isEstablished(crd: KubeObject): boolean {
  return conditionOf(crd, "Established")?.status === "True";
}
