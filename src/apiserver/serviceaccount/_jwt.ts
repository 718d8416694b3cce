/**
 * Compact JSON Web Signatures (RFC 7515) over `node:crypto`: the service-account signing key,
 * its key id and JSON Web Key, signing and verifying tokens.
 *
 * Contract: a key is ECDSA P-256 (`ES256`, what loopkube generates) or RSA (`RS256`, what kubeadm
 * generates); its `kid` is kube's: the unpadded base64url SHA-256 of the DER SubjectPublicKeyInfo.
 * Headers are `{"alg","kid"}` as kube-apiserver writes them; claims are serialised with their keys
 * sorted at every level, as go-jose does, so a decoded loopkube token reads like a kube one.
 * `verifyJws` checks the structure, the algorithm against the key's and the signature; what the
 * claims mean is the caller's business.
 *
 * Written here rather than taken from `jose`: the registry's verbs are synchronous (one store
 * read-to-write without interleaving), and `jose` signs only asynchronously; ES256/RS256 compact
 * serialisation is a few lines over Node's own primitives. Tests verify our tokens with `jose`.
 *
 * @module
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";

export type JwsAlgorithm = "ES256" | "RS256";

export interface SigningKey {
  alg: JwsAlgorithm;
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface VerifyingKey {
  alg: JwsAlgorithm;
  kid: string;
  publicKey: KeyObject;
}

function algorithmOf(key: KeyObject): JwsAlgorithm {
  if (key.asymmetricKeyType === "rsa") return "RS256";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1")
    return "ES256";
  throw new Error(
    `service-account signing keys must be RSA or ECDSA P-256, not ${key.asymmetricKeyType}`,
  );
}

/** kube's key id: unpadded base64url of SHA-256 over the DER-encoded public key (PKIX). */
export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64url");
}

/** The signing key of a PEM private key (PKCS#8, SEC1 or PKCS#1). */
export function signingKeyFromPem(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { alg: algorithmOf(privateKey), kid: keyId(publicKey), privateKey, publicKey };
}

/** A verifying key from a PEM public key (or a private key, whose public half is taken). */
export function verifyingKeyFromPem(pem: string): VerifyingKey {
  const publicKey = createPublicKey(pem);
  return { alg: algorithmOf(publicKey), kid: keyId(publicKey), publicKey };
}

/** The JSON Web Key of a verifying key, fields in go-jose's order. */
export function jsonWebKey(key: VerifyingKey): Record<string, string> {
  const jwk = key.publicKey.export({ format: "jwk" }) as Record<string, string>;
  if (key.alg === "RS256") {
    return { use: "sig", kty: "RSA", kid: key.kid, alg: key.alg, n: jwk.n ?? "", e: jwk.e ?? "" };
  }
  return {
    use: "sig",
    kty: "EC",
    kid: key.kid,
    crv: jwk.crv ?? "P-256",
    alg: key.alg,
    x: jwk.x ?? "",
    y: jwk.y ?? "",
  };
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
    return out;
  });
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url");

function signatureOptions(alg: JwsAlgorithm, key: KeyObject) {
  return alg === "ES256" ? { key, dsaEncoding: "ieee-p1363" as const } : key;
}

/** `header.payload.signature` of `claims`, signed with `key`. */
export function signJws(key: SigningKey, claims: object): string {
  const input = `${b64(JSON.stringify({ alg: key.alg, kid: key.kid }))}.${b64(sortedJson(claims))}`;
  const signature = sign("sha256", Buffer.from(input), signatureOptions(key.alg, key.privateKey));
  return `${input}.${signature.toString("base64url")}`;
}

export type JwsResult =
  | { ok: true; header: Record<string, unknown>; claims: Record<string, unknown> }
  | { ok: false; error: string };

const SEGMENT = /^[A-Za-z0-9_-]+$/;

function parseSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** True when `token` has the shape of a compact JWS (three base64url segments). */
export function looksLikeJws(token: string): boolean {
  const parts = token.split(".");
  return parts.length === 3 && parts.every((p) => SEGMENT.test(p));
}

/** The claims of `token` without checking its signature (for routing by issuer). */
export function unverifiedClaims(token: string): Record<string, unknown> | undefined {
  if (!looksLikeJws(token)) return undefined;
  return parseSegment(token.split(".")[1] ?? "");
}

/**
 * Checks `token`'s signature against `keys` (the one its `kid` names, else each key of its
 * algorithm) and returns its header and claims.
 */
export function verifyJws(token: string, keys: readonly VerifyingKey[]): JwsResult {
  if (!looksLikeJws(token)) return { ok: false, error: "token is not a compact JWS" };
  const [h = "", p = "", s = ""] = token.split(".");
  const header = parseSegment(h);
  const claims = parseSegment(p);
  if (!header || !claims) return { ok: false, error: "token is malformed" };
  const alg = header.alg;
  const candidates = keys.filter(
    (k) => k.alg === alg && (header.kid === undefined || header.kid === k.kid),
  );
  const input = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, "base64url");
  for (const k of candidates) {
    if (verify("sha256", input, signatureOptions(k.alg, k.publicKey), signature)) {
      return { ok: true, header, claims };
    }
  }
  return { ok: false, error: "invalid signature" };
}
