/**
 * Service account issuer discovery, as kube-apiserver serves it: the OpenID Provider
 * Configuration at `/.well-known/openid-configuration` and the key set at `/openid/v1/jwks`, so
 * that anyone (a cloud's workload identity, Vault, a test) can verify the cluster's tokens with
 * standard OIDC tooling. Both are cacheable for an hour; the `jwks_uri` is the API server's own
 * address (kube's default when `--service-account-jwks-uri` is unset).
 *
 * @module
 */
import { jsonWebKey } from "./_jwt.ts";
import type { ServiceAccountIssuer } from "./issuer.ts";

export const OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration";
export const JWKS_PATH = "/openid/v1/jwks";

export interface DiscoveryAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const CACHE_CONTROL = "public, max-age=3600";

/** The answer for `pathname`, or undefined when it is not a discovery path. */
export function issuerDiscovery(
  issuer: ServiceAccountIssuer,
  pathname: string,
  serverUrl: () => string,
): DiscoveryAnswer | undefined {
  if (pathname === OPENID_CONFIGURATION_PATH) {
    const algs = [...new Set(issuer.verifyingKeys.map((k) => k.alg))].sort();
    const doc = {
      issuer: issuer.issuer,
      jwks_uri: `${serverUrl()}${JWKS_PATH}`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: algs,
    };
    return {
      status: 200,
      headers: { "Content-Type": "application/json", "Cache-Control": CACHE_CONTROL },
      body: JSON.stringify(doc),
    };
  }
  if (pathname === JWKS_PATH) {
    const keys = issuer.verifyingKeys.map(jsonWebKey);
    return {
      status: 200,
      headers: { "Content-Type": "application/jwk-set+json", "Cache-Control": CACHE_CONTROL },
      body: JSON.stringify({ keys }),
    };
  }
  return undefined;
}
