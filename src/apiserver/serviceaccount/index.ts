/**
 * Service-account tokens in the API server: the issuer's settings, the TokenRequest API
 * (`serviceaccounts/token`), authentication by token, and issuer discovery (OIDC).
 *
 * @module
 */
import type { SubresourceCreate } from "../registry/index.ts";
import type { ServiceAccountIssuer } from "./issuer.ts";
import { requestToken } from "./token.ts";

export { serviceAccountTokens } from "./authenticator.ts";
export { issuerDiscovery, JWKS_PATH, OPENID_CONFIGURATION_PATH } from "./discovery.ts";
export { createIssuer, type IssuerOptions, type ServiceAccountIssuer } from "./issuer.ts";
export { legacyClaims, legacyServiceAccountTokens, legacyTokenSigner } from "./legacy.ts";
export { requestToken } from "./token.ts";

/** The registry's creator of `serviceaccounts/token`. */
export function tokenCreator(issuer: ServiceAccountIssuer): SubresourceCreate {
  return (ctx, target, body) => requestToken(ctx, issuer, target, body);
}
