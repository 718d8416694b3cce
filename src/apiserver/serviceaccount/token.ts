/**
 * `POST serviceaccounts/<name>/token`: the TokenRequest API (`authentication.k8s.io/v1`), as
 * kube-apiserver's TokenREST answers it. The account must exist; `expirationSeconds` defaults to
 * 3600 and must lie in [600, 2^32]; `audiences` default to the API server's; a `boundObjectRef`
 * names a Pod (which must run as this account; its node is recorded too), a Secret or a Node of
 * the account's namespace, whose uid must match when given. A pod-bound token asking for exactly
 * 3607 s for the API's own audiences is extended to a year with `warnafter` at 3607 s (kube's
 * `--service-account-extend-token-expiration`, on by default); the status still reports the
 * requested expiry, which is what the node agent refreshes by. Nothing is stored.
 *
 * @module
 */
import {
  badRequest,
  conflict,
  fieldInvalid,
  invalid,
  notFound,
  StatusError,
} from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { RegistryContext } from "../registry/index.ts";
import { rfc3339 } from "../registry/index.ts";
import { findResource, storeKey } from "../resources.ts";
import { tokenClaims } from "./_claims.ts";
import { signJws } from "./_jwt.ts";
import type { ServiceAccountIssuer } from "./issuer.ts";

const TOKEN_REQUEST = { group: "authentication.k8s.io", kind: "TokenRequest" };
const MIN_SECONDS = 10 * 60;
const MAX_SECONDS = 2 ** 32;

interface BoundObjectRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
}

interface TokenRequestBody extends KubeObject {
  spec?: {
    audiences?: string[] | null;
    expirationSeconds?: number | null;
    boundObjectRef?: BoundObjectRef | null;
  };
}

function lookup(ctx: RegistryContext, resource: string, namespace: string, name: string) {
  const info = findResource("", resource)!;
  const obj = ctx.store.get(storeKey(info, namespace, name));
  if (!obj) throw notFound(resource, "", name);
  return obj;
}

/** The group of an apiVersion (`v1` → core, `apps/v1` → apps), as schema.ParseGroupVersion. */
function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

interface Bound {
  pod?: { name: string; uid: string };
  node?: { name: string; uid: string };
  secret?: { name: string; uid: string };
}

/** Resolves the bound object, with kube's refusals. */
function resolveBinding(
  ctx: RegistryContext,
  ref: BoundObjectRef,
  namespace: string,
  account: string,
): Bound {
  const apiVersion = ref.apiVersion ?? "";
  const kind = ref.kind ?? "";
  const name = ref.name ?? "";
  const group = groupOf(apiVersion);
  let bound: Bound;
  let uid: string;
  if (group === "" && kind === "Pod") {
    const pod = lookup(ctx, "pods", namespace, name);
    const spec = (pod.spec ?? {}) as { serviceAccountName?: string; nodeName?: string };
    if (account !== spec.serviceAccountName) {
      throw badRequest(
        `cannot bind token for serviceaccount "${account}" to pod running with different serviceaccount name.`,
      );
    }
    uid = pod.metadata.uid ?? "";
    bound = { pod: { name, uid } };
    if (spec.nodeName) {
      // A missing Node still leaves its name in the claims, as kube does.
      const node = ctx.store.get(storeKey(findResource("", "nodes")!, "", spec.nodeName));
      bound.node = { name: spec.nodeName, uid: node?.metadata.uid ?? "" };
    }
  } else if (group === "" && kind === "Node") {
    const node = lookup(ctx, "nodes", "", name);
    uid = node.metadata.uid ?? "";
    bound = { node: { name, uid } };
  } else if (group === "" && kind === "Secret") {
    const secret = lookup(ctx, "secrets", namespace, name);
    uid = secret.metadata.uid ?? "";
    bound = { secret: { name, uid } };
  } else {
    throw badRequest(
      `cannot bind token to object of type ${group}/${versionOf(apiVersion)}, Kind=${kind}`,
    );
  }
  if (ref.uid && ref.uid !== uid) {
    throw conflict(
      kind,
      group,
      name,
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  }
  return bound;
}

/** Issues a token for ServiceAccount `namespace/name` as the TokenRequest `body` asks. */
export function requestToken(
  ctx: RegistryContext,
  issuer: ServiceAccountIssuer,
  target: { namespace: string; name: string },
  body: KubeObject,
): KubeObject {
  const { namespace, name } = target;
  const req = body as TokenRequestBody;
  const meta = req.metadata ?? {};
  if (meta.name && meta.name !== name) {
    throw invalid(TOKEN_REQUEST.kind, TOKEN_REQUEST.group, name, [
      fieldInvalid("metadata.name", meta.name, "must match the service account name if specified"),
    ]);
  }
  if (meta.namespace && meta.namespace !== namespace) {
    throw invalid(TOKEN_REQUEST.kind, TOKEN_REQUEST.group, name, [
      fieldInvalid(
        "metadata.namespace",
        meta.namespace,
        "must match the service account namespace if specified",
      ),
    ]);
  }
  const account = lookup(ctx, "serviceaccounts", namespace, name);
  const spec = req.spec ?? {};
  const audiences = spec.audiences?.length ? [...spec.audiences] : [...issuer.audiences];
  const expirationSeconds = spec.expirationSeconds ?? 3600;
  const errors = [];
  if (expirationSeconds < MIN_SECONDS) {
    errors.push(
      fieldInvalid(
        "spec.expirationSeconds",
        expirationSeconds,
        "may not specify a duration less than 10 minutes",
      ),
    );
  }
  if (expirationSeconds > MAX_SECONDS) {
    errors.push(
      fieldInvalid(
        "spec.expirationSeconds",
        expirationSeconds,
        "may not specify a duration larger than 2^32 seconds",
      ),
    );
  }
  if (errors.length > 0) throw invalid(TOKEN_REQUEST.kind, TOKEN_REQUEST.group, "", errors);

  const bound = spec.boundObjectRef
    ? resolveBinding(ctx, spec.boundObjectRef, namespace, name)
    : {};
  const now = issuer.now();
  let exp = expirationSeconds;
  let warnAfter: number | undefined;
  if (
    bound.pod &&
    issuer.extendedSeconds > 0 &&
    expirationSeconds === issuer.warnOnlySeconds &&
    audiences.every((a) => issuer.audiences.includes(a))
  ) {
    warnAfter = expirationSeconds;
    exp = issuer.extendedSeconds;
  }
  let token: string;
  try {
    token = signJws(
      issuer.key,
      tokenClaims({
        issuer: issuer.issuer,
        audiences,
        now,
        expirationSeconds: exp,
        ...(warnAfter ? { warnAfterSeconds: warnAfter } : {}),
        jti: issuer.uuid(),
        namespace,
        serviceAccount: { name, uid: account.metadata.uid ?? "" },
        ...bound,
      }),
    );
  } catch (e) {
    throw new StatusError(
      500,
      "InternalError",
      `Internal error occurred: failed to generate token: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const out: KubeObject = {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: {
      name,
      namespace,
      uid: meta.uid ?? account.metadata.uid ?? "",
      creationTimestamp: rfc3339(now),
    },
    spec: {
      audiences,
      expirationSeconds,
      boundObjectRef: spec.boundObjectRef ?? null,
    },
    status: {
      token,
      expirationTimestamp: rfc3339(new Date(now.getTime() + expirationSeconds * 1000)),
    },
  };
  return out;
}
