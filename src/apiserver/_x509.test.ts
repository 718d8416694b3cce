import assert from "node:assert/strict";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { children, readTlv } from "./_der.ts";
import {
  authorityKeyIdentifier,
  basicConstraints,
  encodeName,
  extKeyUsage,
  ipBytes,
  KEY_USAGE,
  keyIdentifier,
  keyUsage,
  OID,
  signCertificate,
  subjectAltName,
  subjectKeyIdentifier,
  subjectOf,
  toPem,
} from "./_x509.ts";

/** A PKI written by the earlier `@peculiar/x509` code (see pki-fixtures/README.md). */
const FIXTURE = join(import.meta.dirname, "pki-fixtures", "peculiar");
const fixture = (file: string) => new X509Certificate(readFileSync(join(FIXTURE, file)));

/** The extensions of a DER certificate, each as its complete encoding, in order. */
function extensionsOf(der: Buffer): Buffer[] {
  const [tbs] = children(der, readTlv(der));
  assert.ok(tbs);
  const wrapper = children(der, tbs).find((f) => f.tag === 0xa3);
  assert.ok(wrapper, "certificate has extensions");
  const [list] = children(der, wrapper);
  assert.ok(list);
  return children(der, list).map((e) => der.subarray(e.offset, e.end));
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ec = () => generateKeyPairSync("ec", { namedCurve: "P-256" });

describe("certificates made by earlier versions", () => {
  test("encodeName gives the CA subject's exact bytes and subjectOf reads them back", () => {
    const ca = fixture("ca.crt");
    const ours = encodeName({ commonName: "loopkube-ca", organizations: ["loopkube"] });
    assert.equal(hex(subjectOf(ca.raw)), hex(ours));
  });

  test("subjectOf reads the admin subject with its group", () => {
    const admin = fixture("admin.crt");
    const ours = encodeName({ commonName: "kubernetes-admin", organizations: ["system:masters"] });
    assert.equal(hex(subjectOf(admin.raw)), hex(ours));
  });

  test("keyIdentifier of the CA key is the CA's subjectKeyIdentifier", () => {
    const ca = fixture("ca.crt");
    const ski = extensionsOf(ca.raw).find((e) => e.includes(Buffer.from("0603551d0e", "hex")));
    assert.ok(ski);
    assert.equal(hex(ski), hex(subjectKeyIdentifier(ca.publicKey)));
    assert.equal(hex(keyIdentifier(ca.publicKey)), "4aa9d222ed71ddc73c21011d556ff15e70dcf99c");
  });

  test("a serving certificate's extensions encode byte for byte as before", () => {
    const ca = fixture("ca.crt");
    const old = extensionsOf(fixture("apiserver.crt").raw).map(hex);
    const ours = [
      basicConstraints(false),
      keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]),
      extKeyUsage([OID.serverAuth]),
      authorityKeyIdentifier(ca.publicKey),
      subjectAltName([
        "localhost",
        "127.0.0.1",
        "127.96.0.1",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
      ]),
    ].map(hex);
    assert.deepEqual(ours, old);
  });

  test("a CA's extensions encode byte for byte as before", () => {
    const ca = fixture("ca.crt");
    const ours = [
      basicConstraints(true),
      keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
      subjectKeyIdentifier(ca.publicKey),
    ].map(hex);
    assert.deepEqual(ours, extensionsOf(ca.raw).map(hex));
  });
});

describe("signCertificate", () => {
  test("a self-signed ECDSA CA parses, verifies itself and is a CA", () => {
    const keys = ec();
    const subject = { commonName: "test-ca", organizations: ["o_1", "o2"] };
    const der = signCertificate(
      {
        serial: Buffer.from("7f00000000000000000000000000ff01", "hex"),
        subject,
        notBefore: new Date("2026-01-01T00:00:00Z"),
        notAfter: new Date("2060-01-01T00:00:00Z"),
        publicKey: keys.publicKey,
        extensions: [basicConstraints(true), subjectKeyIdentifier(keys.publicKey)],
      },
      { key: keys.privateKey, name: encodeName(subject) },
    );
    const cert = new X509Certificate(toPem(der, "CERTIFICATE"));
    assert.equal(cert.subject, "CN=test-ca\nO=o_1\nO=o2");
    assert.equal(cert.issuer, cert.subject);
    assert.equal(cert.serialNumber.toUpperCase(), "7F00000000000000000000000000FF01");
    assert.equal(cert.ca, true);
    assert.equal(cert.validFrom, "Jan  1 00:00:00 2026 GMT");
    assert.equal(cert.validTo, "Jan  1 00:00:00 2060 GMT", "GeneralizedTime after 2049");
    assert.ok(cert.verify(keys.publicKey));
    assert.ok(cert.checkIssued(cert));
    assert.ok(cert.publicKey.equals(keys.publicKey));
  });

  test("an RSA issuer signs with sha256WithRSAEncryption", () => {
    const ca = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const leaf = ec();
    const der = signCertificate(
      {
        serial: Buffer.from([1]),
        subject: { commonName: "leaf" },
        notBefore: new Date("2026-01-01T00:00:00Z"),
        notAfter: new Date("2027-01-01T00:00:00Z"),
        publicKey: leaf.publicKey,
        extensions: [],
      },
      { key: ca.privateKey, name: encodeName({ commonName: "rsa-ca" }) },
    );
    const cert = new X509Certificate(der);
    assert.equal(cert.issuer, "CN=rsa-ca");
    assert.ok(cert.verify(ca.publicKey));
    assert.equal(cert.verify(ec().publicKey), false);
    // The outer signatureAlgorithm: OID 1.2.840.113549.1.1.11 with NULL parameters.
    const [, algorithm] = children(der, readTlv(der));
    assert.ok(algorithm);
    assert.equal(
      hex(der.subarray(algorithm.offset, algorithm.end)),
      "300d06092a864886f70d01010b0500",
    );
  });

  test("a tampered certificate no longer verifies", () => {
    const keys = ec();
    const name = encodeName({ commonName: "x" });
    const der = signCertificate(
      {
        serial: Buffer.from([9]),
        subject: { commonName: "x" },
        notBefore: new Date("2026-01-01T00:00:00Z"),
        notAfter: new Date("2027-01-01T00:00:00Z"),
        publicKey: keys.publicKey,
        extensions: [],
      },
      { key: keys.privateKey, name },
    );
    assert.ok(new X509Certificate(der).verify(keys.publicKey));
    const at = der.indexOf(Buffer.from("x"));
    const bad = Buffer.from(der);
    bad[at] = "y".charCodeAt(0);
    assert.equal(new X509Certificate(bad).verify(keys.publicKey), false);
  });

  test("subjectAltName holds DNS names and IPv4 and IPv6 addresses that Node matches", () => {
    const keys = ec();
    const der = signCertificate(
      {
        serial: Buffer.from([2]),
        subject: { commonName: "san" },
        notBefore: new Date("2026-01-01T00:00:00Z"),
        notAfter: new Date("2027-01-01T00:00:00Z"),
        publicKey: keys.publicKey,
        extensions: [subjectAltName(["a.example", "127.0.0.9", "::1", "fd00::7"])],
      },
      { key: keys.privateKey, name: encodeName({ commonName: "san" }) },
    );
    const cert = new X509Certificate(der);
    assert.equal(cert.checkHost("a.example"), "a.example");
    assert.equal(cert.checkIP("127.0.0.9"), "127.0.0.9");
    assert.equal(cert.checkIP("::1"), "::1");
    assert.equal(cert.checkIP("fd00::7"), "fd00::7");
    assert.equal(cert.checkIP("127.0.0.1"), undefined);
    assert.equal(
      cert.subjectAltName,
      "DNS:a.example, IP Address:127.0.0.9, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:7",
    );
  });
});

describe("ipBytes", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "7f000001"],
    ["127.96.0.10", "7f60000a"],
    ["::1", "00000000000000000000000000000001"],
    ["::", "00000000000000000000000000000000"],
    ["fe80::1:2", "fe800000000000000000000000010002"],
    ["2001:db8::", "20010db8000000000000000000000000"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["::ffff:127.0.0.1", "00000000000000000000ffff7f000001"],
  ];
  for (const [ip, expected] of cases) {
    test(`${ip} is ${expected}`, () => {
      assert.equal(hex(ipBytes(ip)), expected);
    });
  }

  test("a host name is refused", () => {
    assert.throws(() => ipBytes("localhost"), /not an IP address/);
  });
});
