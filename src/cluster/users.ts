/**
 * Kubeconfigs for users of a cluster (envtest's `AddUser`, `loopkube kubeconfig --user`): a client
 * certificate signed by the cluster CA in the data dir, its CN the user and each O a group, as
 * kube-apiserver's x509 authenticator reads them, beside the server and CA of the cluster's own
 * kubeconfig. The user may do what RBAC bindings give them (nothing but discovery and
 * self-reviews until a binding names them or a group).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { buildKubeconfig, parseKubeconfig } from "../apiserver/kubeconfig.ts";
import { issueClientCert } from "../apiserver/pki.ts";
import { ClusterError } from "./errors.ts";

export interface UserSpec {
  name: string;
  groups?: string[];
}

/** A self-contained kubeconfig for `user` on the cluster whose data dir is `dataDir`. */
export async function userKubeconfig(dataDir: string, user: UserSpec): Promise<string> {
  if (user.name === "") throw new ClusterError("a user needs a name");
  let text: string;
  try {
    text = await readFile(join(dataDir, "kubeconfig"), "utf8");
  } catch {
    throw new ClusterError(`no kubeconfig in ${dataDir}; start the cluster with \`loopkube up\``);
  }
  const connection = parseKubeconfig(text);
  const [caCert, caKey] = await Promise.all([
    readFile(join(dataDir, "pki", "ca.crt"), "utf8"),
    readFile(join(dataDir, "pki", "ca.key"), "utf8"),
  ]);
  const cert = await issueClientCert(
    { caCert, caKey },
    { commonName: user.name, organizations: user.groups ?? [] },
  );
  const cluster = /^current-context:\s*"?([^"\n]+)"?\s*$/m.exec(text)?.[1] ?? "loopkube";
  return buildKubeconfig({
    name: `${user.name}@${cluster}`,
    server: connection.server,
    caCert: connection.caCert ?? caCert,
    clientCert: cert.cert,
    clientKey: cert.key,
  });
}
