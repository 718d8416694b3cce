import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadKubeconfig, loadKubeconfigFile } from "./kubeconfig.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

const KUBECONFIG = `
apiVersion: v1
kind: Config
current-context: loopkube
clusters:
- name: loopkube
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: ${b64("CA PEM")}
- name: files
  cluster:
    server: https://127.0.0.2:6443
    certificate-authority: pki/ca.crt
- name: insecure
  cluster:
    server: https://127.0.0.3:6443
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    client-certificate-data: ${b64("CERT PEM")}
    client-key-data: ${b64("KEY PEM")}
- name: file-user
  user:
    client-certificate: /abs/admin.crt
    client-key: pki/admin.key
    tokenFile: token
- name: token-user
  user:
    token: abc123
- name: exec-user
  user:
    exec:
      command: get-token
contexts:
- name: loopkube
  context: { cluster: loopkube, user: admin }
- name: files
  context: { cluster: files, user: file-user }
- name: insecure
  context: { cluster: insecure, user: token-user }
- name: exec
  context: { cluster: loopkube, user: exec-user }
- name: no-cluster
  context: { cluster: nowhere, user: admin }
`;

const FILES: Record<string, string> = {
  "/cfg/pki/ca.crt": "CA FROM FILE",
  "/abs/admin.crt": "CERT FROM FILE",
  "/cfg/pki/admin.key": "KEY FROM FILE",
  "/cfg/token": "file-token\n",
};

function readFile(path: string): string {
  const content = FILES[path];
  if (content === undefined) throw new Error(`no such file: ${path}`);
  return content;
}

describe("loadKubeconfig", () => {
  const cases: { name: string; context?: string; expected: Record<string, unknown> }[] = [
    {
      name: "uses current-context and decodes the *-data fields",
      expected: {
        server: "https://127.0.0.1:6443",
        caCert: "CA PEM",
        clientCert: "CERT PEM",
        clientKey: "KEY PEM",
      },
    },
    {
      name: "reads file paths, relative ones against baseDir, and a tokenFile",
      context: "files",
      expected: {
        server: "https://127.0.0.2:6443",
        caCert: "CA FROM FILE",
        clientCert: "CERT FROM FILE",
        clientKey: "KEY FROM FILE",
        token: "file-token",
      },
    },
    {
      name: "takes a bearer token and insecure-skip-tls-verify",
      context: "insecure",
      expected: { server: "https://127.0.0.3:6443", insecureSkipTlsVerify: true, token: "abc123" },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const config = loadKubeconfig(KUBECONFIG, c.context, { baseDir: "/cfg", readFile });
      assert.deepEqual(config, c.expected);
    });
  }

  const failures: { name: string; text?: string; context?: string; message: RegExp }[] = [
    { name: "an unknown context", context: "nope", message: /context "nope" does not exist/ },
    {
      name: "a context naming an unknown cluster",
      context: "no-cluster",
      message: /cluster "nowhere" does not exist/,
    },
    { name: "exec credentials", context: "exec", message: /exec plugin/ },
    {
      name: "no current-context",
      text: "apiVersion: v1\nkind: Config\n",
      message: /current-context is not set/,
    },
  ];
  for (const f of failures) {
    it(`refuses ${f.name}`, () => {
      assert.throws(
        () => loadKubeconfig(f.text ?? KUBECONFIG, f.context, { baseDir: "/cfg", readFile }),
        f.message,
      );
    });
  }
});

describe("loadKubeconfigFile", () => {
  it("resolves relative paths against the kubeconfig's folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    try {
      writeFileSync(join(dir, "ca.crt"), "CA NEXT TO IT");
      writeFileSync(
        join(dir, "config"),
        [
          "current-context: c",
          "clusters: [{ name: k, cluster: { server: 'https://127.0.0.1:6443', certificate-authority: ca.crt } }]",
          "users: [{ name: u, user: { token: t } }]",
          "contexts: [{ name: c, context: { cluster: k, user: u } }]",
        ].join("\n"),
      );
      assert.deepEqual(loadKubeconfigFile(join(dir, "config")), {
        server: "https://127.0.0.1:6443",
        caCert: "CA NEXT TO IT",
        token: "t",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
