import assert from "node:assert/strict";
import { test } from "node:test";
import { createIssuer, issuerDiscovery, JWKS_PATH, OPENID_CONFIGURATION_PATH } from "./index.ts";

test("issuer discovery serves kube's OpenID configuration and key set, cacheable for an hour", () => {
  const issuer = createIssuer({ issuer: "https://kubernetes.default.svc.cluster.local" });
  const url = () => "https://127.0.0.1:6443";
  const config = issuerDiscovery(issuer, OPENID_CONFIGURATION_PATH, url);
  assert.equal(config?.status, 200);
  assert.equal(config?.headers["Content-Type"], "application/json");
  assert.equal(config?.headers["Cache-Control"], "public, max-age=3600");
  assert.deepEqual(JSON.parse(config?.body ?? ""), {
    issuer: "https://kubernetes.default.svc.cluster.local",
    jwks_uri: "https://127.0.0.1:6443/openid/v1/jwks",
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["ES256"],
  });
  const jwks = issuerDiscovery(issuer, JWKS_PATH, url);
  assert.equal(jwks?.headers["Content-Type"], "application/jwk-set+json");
  const { keys } = JSON.parse(jwks?.body ?? "") as { keys: Array<Record<string, string>> };
  assert.equal(keys.length, 1);
  assert.deepEqual(Object.keys(keys[0] ?? {}), ["use", "kty", "kid", "crv", "alg", "x", "y"]);
  assert.equal(keys[0]?.kid, issuer.key.kid);
  assert.equal(issuerDiscovery(issuer, "/api", url), undefined);
});
