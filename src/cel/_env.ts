/**
 * Kubernetes' CEL environment on `@bufbuild/cel`: the standard library, the strings extension,
 * and kube's libraries (lists, regex, URLs, IP/CIDR, quantity, semver, format, optional values, sets, base64, authorizer checks).
 *
 * @module
 */
import { type CelEnv, type CelFunc, celEnv } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { AUTHZ } from "./_lib/authz.ts";
import { FORMAT_FUNCS } from "./_lib/format.ts";
import { LISTS } from "./_lib/lists.ts";
import { NET } from "./_lib/net.ts";
import { OPTIONALS } from "./_lib/optional.ts";
import { QUANTITIES } from "./_lib/quantity.ts";
import { REGEX } from "./_lib/regex.ts";
import { SEMVERS } from "./_lib/semver.ts";
import { SETS } from "./_lib/sets.ts";
import { URLS } from "./_lib/urls.ts";
import { OPAQUE_REGISTRY } from "./_opaque.ts";

/** Every function kube adds to CEL's standard library, as `@bufbuild/cel` functions. */
export const KUBE_FUNCS: CelFunc[] = [
  ...strings,
  ...LISTS,
  ...REGEX,
  ...URLS,
  ...NET,
  ...QUANTITIES,
  ...SEMVERS,
  ...OPTIONALS,
  ...SETS,
  ...FORMAT_FUNCS,
  ...AUTHZ,
];

let shared: CelEnv | undefined;

/**
 * The environment kube's CRD validation rules, admission policies and match conditions see;
 * `namespace` is CEL's container (none in kube).
 */
export function kubeEnv(namespace?: string): CelEnv {
  if (namespace) return celEnv({ namespace, funcs: KUBE_FUNCS, registry: OPAQUE_REGISTRY });
  shared ??= celEnv({ funcs: KUBE_FUNCS, registry: OPAQUE_REGISTRY });
  return shared;
}

/** Names callable in the kube environment (functions and methods), for the checker. */
export const KUBE_FUNC_NAMES: ReadonlySet<string> = new Set(KUBE_FUNCS.map((f) => f.name));
