/**
 * Self-signed certificates for TLS tests (ECDSA P-256, valid one day), made with the `openssl`
 * command in a temporary folder that is removed at once. `@peculiar/x509` is not used here
 * because it needs a Reflect polyfill that lives in the API server's folder. Callers skip their
 * TLS tests when `openssl` is missing (`hasOpenssl()`).
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCert {
  cert: string;
  key: string;
}

export function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed CA-capable certificate for `cn`, with the given IPs as subjectAltNames. */
export function selfSignedCert(cn: string, ips: string[] = []): TestCert {
  const dir = mkdtempSync(join(tmpdir(), "client-tls-"));
  try {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    const args = [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${cn}`,
      "-keyout",
      key,
      "-out",
      cert,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
    ];
    if (ips.length > 0)
      args.push("-addext", `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(",")}`);
    execFileSync("openssl", args, { stdio: "ignore" });
    return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
