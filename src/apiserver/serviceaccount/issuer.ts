/**
 * The service-account token issuer's settings, in one place: the issuer URL (kube's
 * `--service-account-issuer`), the API server's audiences (`--api-audiences`, defaulting to the
 * issuer), the signing key (`--service-account-signing-key-file`) and the keys tokens are
 * verified with (`--service-account-key-file`, the signing key's public half first), the
 * extension of pod tokens (`--service-account-extend-token-expiration`, a year), the clock and
 * the `jti` source.
 *
 * @module
 */
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { DEFAULT_CLUSTER_DOMAIN } from "../../api/addressplan.ts";
import { defaultIssuer, WARN_ONLY_TOKEN_SECONDS } from "../../api/serviceaccount.ts";
import {
  type SigningKey,
  signingKeyFromPem,
  type VerifyingKey,
  verifyingKeyFromPem,
} from "./_jwt.ts";

export interface ServiceAccountIssuer {
  issuer: string;
  audiences: string[];
  key: SigningKey;
  verifyingKeys: VerifyingKey[];
  /** The lifetime that marks an extensible pod token (3607 s). */
  warnOnlySeconds: number;
  /** What such a token's `exp` is extended to; 0 turns the extension off. */
  extendedSeconds: number;
  now(): Date;
  uuid(): string;
}

export interface IssuerOptions {
  /** PEM private key (ECDSA P-256 or RSA); a fresh P-256 key when absent (tokens then die with
   *  the process, which is right for a throwaway API server). */
  signingKey?: string;
  /** Further PEM public keys whose tokens are accepted (a previous key, during a rotation). */
  extraVerifyingKeys?: string[];
  issuer?: string;
  audiences?: string[];
  extendTokenExpiration?: boolean;
  now?: () => Date;
  uuid?: () => string;
}

/** kube's `ExpirationExtensionSeconds`: one year. */
const EXTENSION_SECONDS = 24 * 365 * 60 * 60;

export function createIssuer(options: IssuerOptions = {}): ServiceAccountIssuer {
  const pem =
    options.signingKey ??
    generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
  const key = signingKeyFromPem(pem);
  const issuer = options.issuer ?? defaultIssuer(DEFAULT_CLUSTER_DOMAIN);
  return {
    issuer,
    audiences: options.audiences?.length ? [...options.audiences] : [issuer],
    key,
    verifyingKeys: [
      { alg: key.alg, kid: key.kid, publicKey: key.publicKey },
      ...(options.extraVerifyingKeys ?? []).map(verifyingKeyFromPem),
    ],
    warnOnlySeconds: WARN_ONLY_TOKEN_SECONDS,
    extendedSeconds: options.extendTokenExpiration === false ? 0 : EXTENSION_SECONDS,
    now: options.now ?? (() => new Date()),
    uuid: options.uuid ?? randomUUID,
  };
}
