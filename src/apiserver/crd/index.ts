/**
 * CustomResourceDefinitions (`apiextensions.k8s.io/v1`), as kube's apiextensions-apiserver
 * serves them: the CRD kind's strategy, and the live set of custom resources the registry,
 * discovery and the Table printer consult, kept in step with the CRDs in the store (status
 * conditions, cleanup of a deleted CRD's objects). Entry point of `apiserver/crd`.
 *
 * @module
 */

export { TERMINATING_PENDING } from "./_conditions.ts";
export { AfterWrite, type ConversionCaller, ConversionPending } from "./_conversion.ts";
export { withCustomResources } from "./_openapi.ts";
export { type CrdVerbs, CustomResources } from "./_serving.ts";
export { crdStrategy } from "./_strategy.ts";
export { CRD_CLEANUP_FINALIZER, CRD_GROUP } from "./_types.ts";
export { compareVersions } from "./_versions.ts";
