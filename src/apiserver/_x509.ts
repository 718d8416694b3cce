/**
 * X.509 v3 certificate creation on `node:crypto` alone (RFC 5280), for the cluster PKI.
 *
 * Contract: {@link signCertificate} builds a TBSCertificate from a spec (serial, subject, validity,
 * public key, extensions), signs it with the issuer's private key (ECDSA → ecdsa-with-SHA256,
 * RSA → sha256WithRSAEncryption) and returns the DER certificate. Reading and checking
 * certificates is left to Node's `X509Certificate`; the one thing it cannot give, the issuer's
 * subject as raw bytes, comes from {@link subjectOf}, so a leaf's issuer field is byte-for-byte
 * its CA's subject (Go's chain building compares the raw bytes) whoever encoded that CA.
 *
 * Key identifiers are RFC 5280 §4.2.1.2 method 1 (SHA-1 of the subjectPublicKey bits): the
 * method certificates made by earlier loopkube versions used, so a new leaf's
 * authorityKeyIdentifier matches an old CA's subjectKeyIdentifier.
 *
 * @module
 */

import { createHash, type KeyObject, sign } from "node:crypto";
import { isIP } from "node:net";
import {
  bitString,
  boolean,
  children,
  DerError,
  directoryString,
  explicit,
  implicit,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  readTlv,
  sequence,
  set,
  TAG,
  x509Time,
} from "./_der.ts";

export const OID = {
  commonName: "2.5.4.3",
  organizationName: "2.5.4.10",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** keyUsage bit positions (RFC 5280 §4.2.1.3). */
export const KEY_USAGE = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

/** A distinguished name as Kubernetes reads it: CN is the user, each O a group. */
export interface Name {
  commonName: string;
  organizations?: readonly string[];
}

export interface CertificateSpec {
  /** Big-endian unsigned bytes; RFC 5280 wants it positive and at most 20 bytes. */
  serial: Uint8Array;
  subject: Name;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** Complete `Extension` encodings, e.g. from {@link basicConstraints}. */
  extensions: Buffer[];
}

export interface Signer {
  /** The issuer's private key. */
  key: KeyObject;
  /** The issuer's subject as DER (from {@link encodeName} or {@link subjectOf}). */
  name: Buffer;
}

/** RDNSequence with one attribute per RDN: CN first, then each O, in the given order. */
export function encodeName(name: Name): Buffer {
  const rdn = (type: string, value: string) => set(sequence(oid(type), directoryString(value)));
  return sequence(
    rdn(OID.commonName, name.commonName),
    ...(name.organizations ?? []).map((o) => rdn(OID.organizationName, o)),
  );
}

/** Signs the TBSCertificate described by `spec` with `signer`; returns the DER certificate. */
export function signCertificate(spec: CertificateSpec, signer: Signer): Buffer {
  const algorithm = signatureAlgorithm(signer.key);
  const tbs = sequence(
    explicit(0, integer(2)), // v3: extensions follow
    integer(spec.serial),
    algorithm,
    signer.name,
    sequence(x509Time(spec.notBefore), x509Time(spec.notAfter)),
    encodeName(spec.subject),
    spec.publicKey.export({ type: "spki", format: "der" }),
    ...(spec.extensions.length > 0 ? [explicit(3, sequence(...spec.extensions))] : []),
  );
  // Node signs ECDSA as a DER Ecdsa-Sig-Value and RSA as PKCS#1 v1.5: both what X.509 wants.
  const signature = sign("sha256", tbs, signer.key);
  return sequence(tbs, algorithm, bitString(signature));
}

function signatureAlgorithm(key: KeyObject): Buffer {
  switch (key.asymmetricKeyType) {
    case "ec":
      return sequence(oid(OID.ecdsaWithSha256)); // parameters absent (RFC 5758 §3.2)
    case "rsa":
      return sequence(oid(OID.sha256WithRsa), nullValue()); // parameters NULL (RFC 4055 §5)
    default:
      throw new DerError(`cannot sign certificates with a ${key.asymmetricKeyType} key`);
  }
}

/** One `Extension`; `critical` is DEFAULT FALSE, so DER leaves it out when false. */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** basicConstraints, critical; cA is DEFAULT FALSE, so a leaf's value is an empty SEQUENCE. */
export function basicConstraints(ca: boolean): Buffer {
  return extension(OID.basicConstraints, true, sequence(...(ca ? [boolean(true)] : [])));
}

/** keyUsage, critical, from {@link KEY_USAGE} bit positions. */
export function keyUsage(bits: number[]): Buffer {
  return extension(OID.keyUsage, true, namedBits(bits));
}

export function extKeyUsage(purposes: string[]): Buffer {
  return extension(OID.extKeyUsage, false, sequence(...purposes.map(oid)));
}

/** subjectAltName: IP addresses as iPAddress [7], everything else as dNSName [2], in order. */
export function subjectAltName(hosts: string[]): Buffer {
  const names = hosts.map((h) =>
    isIP(h) === 0 ? implicit(2, Buffer.from(h, "ascii")) : implicit(7, ipBytes(h)),
  );
  return extension(OID.subjectAltName, false, sequence(...names));
}

export function subjectKeyIdentifier(publicKey: KeyObject): Buffer {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(publicKey)));
}

/** authorityKeyIdentifier with keyIdentifier [0] only, naming the issuer's public key. */
export function authorityKeyIdentifier(issuerPublicKey: KeyObject): Buffer {
  return extension(
    OID.authorityKeyIdentifier,
    false,
    sequence(implicit(0, keyIdentifier(issuerPublicKey))),
  );
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: "spki", format: "der" });
  const [, bits] = children(spki, readTlv(spki));
  if (bits === undefined || bits.tag !== TAG.bitString) throw new DerError("SPKI without a key");
  return createHash("sha1")
    .update(spki.subarray(bits.start + 1, bits.end))
    .digest();
}

/** The subject Name of a DER certificate, as the exact bytes it was encoded with. */
export function subjectOf(certificate: Uint8Array): Buffer {
  const tbs = children(certificate, readTlv(certificate))[0];
  if (tbs === undefined) throw new DerError("certificate without a TBSCertificate");
  const fields = children(certificate, tbs);
  // version [0] is optional (absent in v1); then serial, signature, issuer, validity, subject.
  const first = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[first + 4];
  if (subject === undefined || subject.tag !== TAG.sequence) {
    throw new DerError("certificate without a subject");
  }
  return Buffer.from(certificate.subarray(subject.offset, subject.end));
}

/** PEM armour with 64-character lines (RFC 7468). */
export function toPem(der: Uint8Array, label: string): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** IPv4 as 4 bytes, IPv6 (with `::` and a dotted IPv4 tail) as 16. */
export function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  if (isIP(ip) !== 6) throw new DerError(`not an IP address: ${ip}`);
  let text = ip.split("%")[0] ?? ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4 !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = v4.split(".").map(Number);
    text = `${text.slice(0, -v4.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(zeros).fill("0"), ...right];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}
