/**
 * The cluster's PKI, kept as PEM files in one directory (`<data-dir>/pki/`).
 *
 * Contract: {@link ensurePki} creates on first use a CA (`loopkube-ca`, 10 years), an API serving
 * certificate signed by it whose SANs cover the given hosts (DNS names and IP addresses), an admin
 * client certificate (`kubernetes-admin` in `system:masters`), a random admin bearer token, and
 * the service-account signing key pair (`sa.key`, `sa.pub`, as kubeadm names them), which signs
 * every service-account token and so is kept as long as the data dir. Beside them, as kubeadm
 * makes them, a front-proxy CA (`front-proxy-ca`) and its client certificate
 * (`front-proxy-client`), with which the API server authenticates to aggregated API servers.
 * Later calls load the files; the serving certificate alone is re-issued when its SANs no longer
 * cover the hosts or it is about to expire. The CA is never replaced once written, because every
 * kubeconfig handed out pins it.
 *
 * Keys are ECDSA P-256 (PKCS#8 PEM), signatures ECDSA-SHA256: Go's crypto/tls (kubectl) and
 * Node's TLS both accept them, and generating them takes milliseconds, not RSA's seconds.
 * Key and token files are written with mode 0600.
 *
 * Only `node:crypto` is used: certificates are built by our small DER encoder (`_x509.ts`) and
 * read and checked with Node's `X509Certificate`, so a start with an existing PKI loads no ASN.1
 * library at all (issue #7: start-up time). Files written by earlier versions (made with
 * `@peculiar/x509`) have the same layout and are read, not regenerated, while they still fit.
 *
 * @module
 */

import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  authorityKeyIdentifier,
  basicConstraints,
  encodeName,
  extKeyUsage,
  KEY_USAGE,
  keyUsage,
  type Name,
  OID,
  signCertificate,
  subjectAltName,
  subjectKeyIdentifier,
  subjectOf,
  toPem,
} from "./_x509.ts";

const generateKeyPairAsync = promisify(generateKeyPair);

/** PEM material of the cluster PKI, plus the admin bearer token. */
export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  token: string;
  /** The service-account token signing key (PKCS#8 PEM) and its public half (SPKI PEM). */
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
  /** The front-proxy CA (requestheader client CA) and the API server's client cert under it. */
  frontProxyCaCert: string;
  frontProxyCaKey: string;
  frontProxyClientCert: string;
  frontProxyClientKey: string;
}

export interface EnsurePkiOptions {
  clusterName: string;
  /** Names and IP addresses the API server is reached by; all go into the serving cert's SANs. */
  hosts: string[];
  now?: () => Date;
}

export interface ClientCertOptions {
  commonName: string;
  organizations?: string[];
  now?: () => Date;
}

/** A PEM certificate and its PKCS#8 PEM private key. */
export interface KeyPairPem {
  cert: string;
  key: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
/** Re-issue the serving certificate when less than this remains. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Backdate certificates a little so a client whose clock lags slightly still accepts them. */
const BACKDATE_MS = 5 * 60 * 1000;

const FILES = {
  caCert: "ca.crt",
  caKey: "ca.key",
  serverCert: "apiserver.crt",
  serverKey: "apiserver.key",
  adminCert: "admin.crt",
  adminKey: "admin.key",
  token: "admin.token",
  serviceAccountKey: "sa.key",
  serviceAccountPublicKey: "sa.pub",
  frontProxyCaCert: "front-proxy-ca.crt",
  frontProxyCaKey: "front-proxy-ca.key",
  frontProxyClientCert: "front-proxy-client.crt",
  frontProxyClientKey: "front-proxy-client.key",
} as const satisfies Record<keyof Pki, string>;

/** Loads the PKI in `dir`, creating whatever is missing and re-issuing a stale serving cert. */
export async function ensurePki(dir: string, options: EnsurePkiOptions): Promise<Pki> {
  const now = options.now ?? (() => new Date());
  await mkdir(dir, { recursive: true, mode: 0o700 });

  let ca = await readPair(dir, FILES.caCert, FILES.caKey);
  if (ca === undefined) {
    ca = await createCa(options.clusterName, now());
    await writePair(dir, ca, FILES.caCert, FILES.caKey);
  }
  const caPair = ca;

  let server = await readPair(dir, FILES.serverCert, FILES.serverKey);
  if (server === undefined || !servingCertFits(server.cert, caPair.cert, options.hosts, now())) {
    server = await issueCert(caPair, {
      commonName: "kube-apiserver",
      hosts: options.hosts,
      usage: "server",
      now: now(),
    });
    await writePair(dir, server, FILES.serverCert, FILES.serverKey);
  }

  let admin = await readPair(dir, FILES.adminCert, FILES.adminKey);
  if (admin === undefined || !signedBy(admin.cert, caPair.cert)) {
    admin = await issueCert(caPair, {
      commonName: "kubernetes-admin",
      organizations: ["system:masters"],
      usage: "client",
      now: now(),
    });
    await writePair(dir, admin, FILES.adminCert, FILES.adminKey);
  }

  let token = (await readOptional(join(dir, FILES.token)))?.trim();
  if (token === undefined || token === "") {
    token = randomBytes(32).toString("base64url");
    await writeSecret(join(dir, FILES.token), `${token}\n`);
  }

  let serviceAccount = await readServiceAccountKey(dir);
  if (serviceAccount === undefined) {
    const keys = await newKeyPair();
    serviceAccount = {
      key: exportKeyPem(keys.privateKey),
      pub: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    };
    await writeSecret(join(dir, FILES.serviceAccountKey), serviceAccount.key);
    await writeAtomic(join(dir, FILES.serviceAccountPublicKey), serviceAccount.pub, 0o644);
  }

  let frontProxyCa = await readPair(dir, FILES.frontProxyCaCert, FILES.frontProxyCaKey);
  if (frontProxyCa === undefined) {
    frontProxyCa = await createCa(options.clusterName, now(), "front-proxy-ca");
    await writePair(dir, frontProxyCa, FILES.frontProxyCaCert, FILES.frontProxyCaKey);
  }
  let frontProxy = await readPair(dir, FILES.frontProxyClientCert, FILES.frontProxyClientKey);
  if (frontProxy === undefined || !signedBy(frontProxy.cert, frontProxyCa.cert)) {
    frontProxy = await issueCert(frontProxyCa, {
      commonName: "front-proxy-client",
      usage: "client",
      now: now(),
    });
    await writePair(dir, frontProxy, FILES.frontProxyClientCert, FILES.frontProxyClientKey);
  }

  return {
    caCert: caPair.cert,
    caKey: caPair.key,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    token,
    serviceAccountKey: serviceAccount.key,
    serviceAccountPublicKey: serviceAccount.pub,
    frontProxyCaCert: frontProxyCa.cert,
    frontProxyCaKey: frontProxyCa.key,
    frontProxyClientCert: frontProxy.cert,
    frontProxyClientKey: frontProxy.key,
  };
}

/** The kept signing key, its public half re-derived when `sa.pub` is missing or differs. */
async function readServiceAccountKey(dir: string) {
  const key = await readOptional(join(dir, FILES.serviceAccountKey));
  if (key === undefined) return undefined;
  const pub = createPublicKey(createPrivateKey(key)).export({ type: "spki", format: "pem" });
  const text = pub.toString();
  if ((await readOptional(join(dir, FILES.serviceAccountPublicKey))) !== text) {
    await writeAtomic(join(dir, FILES.serviceAccountPublicKey), text, 0o644);
  }
  return { key, pub: text };
}

/**
 * Issues a client certificate signed by the cluster CA (clientAuth EKU). The API server maps the
 * CN to the user name and each O to a group, as kube-apiserver's x509 authenticator does.
 */
export async function issueClientCert(
  pki: Pick<Pki, "caCert" | "caKey">,
  options: ClientCertOptions,
): Promise<KeyPairPem> {
  return issueCert(
    { cert: pki.caCert, key: pki.caKey },
    {
      commonName: options.commonName,
      organizations: options.organizations ?? [],
      usage: "client",
      now: (options.now ?? (() => new Date()))(),
    },
  );
}

export interface SelfSignedOptions {
  commonName: string;
  organizations?: string[];
  /** DNS names and IP addresses for the subjectAltName extension. */
  hosts?: string[];
  days?: number;
  now?: () => Date;
}

/**
 * A self-signed serving certificate (issuer = subject, signed by its own key): what an ingress
 * controller serves to clients whose SNI name no Ingress names, and what tests use as a Secret's
 * certificate.
 */
export async function selfSignedCert(options: SelfSignedOptions): Promise<KeyPairPem> {
  const keys = await newKeyPair();
  const now = (options.now ?? (() => new Date()))();
  const subject: Name = {
    commonName: options.commonName,
    organizations: options.organizations ?? [],
  };
  const extensions = [
    basicConstraints(false),
    keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]),
    extKeyUsage([OID.serverAuth]),
    subjectKeyIdentifier(keys.publicKey),
  ];
  if (options.hosts !== undefined && options.hosts.length > 0)
    extensions.push(subjectAltName(options.hosts));
  const der = signCertificate(
    {
      serial: randomSerial(),
      subject,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + (options.days ?? LEAF_DAYS) * DAY_MS),
      publicKey: keys.publicKey,
      extensions,
    },
    { key: keys.privateKey, name: encodeName(subject) },
  );
  return { cert: toPem(der, "CERTIFICATE"), key: exportKeyPem(keys.privateKey) };
}

/** The CA's CN is fixed (`loopkube-ca`, or `front-proxy-ca`); the cluster name goes into O to tell clusters apart. */
async function createCa(
  clusterName: string,
  now: Date,
  commonName = "loopkube-ca",
): Promise<KeyPairPem> {
  const keys = await newKeyPair();
  const subject: Name = {
    commonName,
    organizations: clusterName === "" ? [] : [clusterName],
  };
  const der = signCertificate(
    {
      serial: randomSerial(),
      subject,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
      publicKey: keys.publicKey,
      extensions: [
        basicConstraints(true),
        keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
        subjectKeyIdentifier(keys.publicKey),
      ],
    },
    { key: keys.privateKey, name: encodeName(subject) },
  );
  return { cert: toPem(der, "CERTIFICATE"), key: exportKeyPem(keys.privateKey) };
}

interface LeafSpec {
  commonName: string;
  organizations?: string[];
  hosts?: string[];
  usage: "server" | "client";
  now: Date;
}

/**
 * A leaf signed by `ca`, whether that CA was made by this code or an earlier version: the issuer
 * name is copied from the CA certificate and the key identifier derived from its public key.
 */
async function issueCert(ca: KeyPairPem, spec: LeafSpec): Promise<KeyPairPem> {
  const caCert = new X509Certificate(ca.cert);
  const keys = await newKeyPair();
  const extensions = [
    basicConstraints(false),
    keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]),
    extKeyUsage([spec.usage === "server" ? OID.serverAuth : OID.clientAuth]),
    authorityKeyIdentifier(caCert.publicKey),
  ];
  if (spec.hosts !== undefined && spec.hosts.length > 0) {
    extensions.push(subjectAltName(spec.hosts));
  }
  const der = signCertificate(
    {
      serial: randomSerial(),
      subject: { commonName: spec.commonName, organizations: spec.organizations ?? [] },
      notBefore: new Date(spec.now.getTime() - BACKDATE_MS),
      notAfter: new Date(spec.now.getTime() + LEAF_DAYS * DAY_MS),
      publicKey: keys.publicKey,
      extensions,
    },
    { key: createPrivateKey(ca.key), name: subjectOf(caCert.raw) },
  );
  return { cert: toPem(der, "CERTIFICATE"), key: exportKeyPem(keys.privateKey) };
}

/** True when `certPem` was signed by the CA, covers every host and is not near expiry. */
function servingCertFits(certPem: string, caPem: string, hosts: string[], now: Date): boolean {
  if (!signedBy(certPem, caPem)) return false;
  const cert = new X509Certificate(certPem);
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return false;
  return hosts.every((h) =>
    isIP(h) === 0 ? cert.checkHost(h, { wildcards: false }) === h : cert.checkIP(h) === h,
  );
}

/** `certPem` names `caPem` as its issuer (name and key identifier) and carries its signature. */
function signedBy(certPem: string, caPem: string): boolean {
  try {
    const ca = new X509Certificate(caPem);
    const cert = new X509Certificate(certPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** A positive 128-bit serial (high bit cleared so DER never needs a sign byte to stay positive). */
function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  if (bytes[0] === 0) bytes[0] = 1;
  return bytes;
}

function newKeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return generateKeyPairAsync("ec", { namedCurve: "P-256" });
}

/** PKCS#8 PEM, the format earlier versions wrote and every TLS stack reads. */
function exportKeyPem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}

async function readPair(dir: string, certFile: string, keyFile: string) {
  const cert = await readOptional(join(dir, certFile));
  const key = await readOptional(join(dir, keyFile));
  if (cert === undefined || key === undefined) return undefined;
  return { cert, key } satisfies KeyPairPem;
}

async function writePair(dir: string, pair: KeyPairPem, certFile: string, keyFile: string) {
  await writeSecret(join(dir, keyFile), pair.key);
  await writeAtomic(join(dir, certFile), pair.cert, 0o644);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function writeSecret(path: string, text: string): Promise<void> {
  return writeAtomic(path, text, 0o600);
}

/** Write-then-rename, so a crash never leaves a half-written key or certificate behind. */
async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
