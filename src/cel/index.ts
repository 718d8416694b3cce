/**
 * CEL as Kubernetes runs it, on `@bufbuild/cel`: kube's environment (standard library, strings
 * extension, lists, regex, URLs, IP/CIDR, quantity, semver, optional values), the CEL types of
 * OpenAPI schemas and the conversion of JSON values to them, a type check with cel-go's messages,
 * and kube's cost estimate and limits. CRD validation rules use it; admission policies and
 * webhook match conditions can.
 *
 * @module
 */
export {
  type Compiled,
  compile,
  PER_CALL_LIMIT,
  type Program,
  RUNTIME_COST_BUDGET,
  STATIC_ESTIMATED_COST_LIMIT,
  STATIC_ESTIMATED_CRD_COST_LIMIT,
} from "./_compile.ts";
export { costExceedsMessage } from "./_cost.ts";
export { KUBE_FUNCS, kubeEnv } from "./_env.ts";
export {
  type AuthzAttributes,
  type AuthzCheck,
  type AuthzDecision,
  type AuthzUser,
  authorizerValue,
  requestResourceValue,
} from "./_lib/authz.ts";
export { AUTHORIZER, optionalOf } from "./_opaque.ts";
export { parseCel } from "./_optsyntax.ts";
export {
  type CelSchema,
  type DeclType,
  DYN,
  declTypeOf,
  MAX_REQUEST_SIZE_BYTES,
  typeString,
} from "./_types.ts";
export { actualType, parseGoDuration, toCel } from "./_values.ts";
