import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseClusterConfig } from "./_config.ts";

const HEAD = "apiVersion: loopkube.dev/v1alpha1\nkind: Cluster\n";
const withSpec = (spec: string) => `${HEAD}spec:\n${spec.replace(/^/gm, "  ")}\n`;

describe("parseClusterConfig", () => {
  test("reads every field into the up option it sets, paths from the file's folder", () => {
    const text = `${HEAD}metadata:\n  name: dev\n${withSpec(
      [
        "dataDir: data",
        "ephemeral: false",
        "runtime: simulated",
        "insecureRegistries: [registry.example:5000]",
        "nodes: 3",
        "apiPort: 0",
        "dnsPort: 1053",
        "dnsMetricsPort: 9153",
        "podNetwork: host",
        "proxyMode: nftables",
        "clusterDomain: example.local",
        "podCidr: 127.230.0.0/16",
        "serviceCidr: 127.130.0.0/16",
        "manifests: [app, ../shared/x.yaml]",
        "wait: true",
        "updateKubeconfig: false",
        "logLevel: debug",
        "logFormat: json",
      ].join("\n"),
    ).slice(HEAD.length)}`;
    assert.deepEqual(parseClusterConfig(text, "/cfg"), {
      name: "dev",
      dataDir: "/cfg/data",
      ephemeral: false,
      runtime: "simulated",
      insecureRegistry: ["registry.example:5000"],
      nodes: 3,
      apiPort: 0,
      dnsPort: 1053,
      dnsMetricsPort: 9153,
      podNetwork: "host",
      proxyMode: "nftables",
      clusterDomain: "example.local",
      podCidr: "127.230.0.0/16",
      serviceCidr: "127.130.0.0/16",
      filename: ["/cfg/app", "/shared/x.yaml"],
      wait: true,
      kubeconfigUpdate: false,
      logLevel: "debug",
      logFormat: "json",
    });
  });

  test("an empty spec sets nothing", () => {
    assert.deepEqual(parseClusterConfig(`${HEAD}spec:\n`, "/"), {});
  });

  const refused: Array<[string, string, string]> = [
    ["an unknown spec field", withSpec("nodez: 3"), 'unknown field "spec.nodez"'],
    ["an unknown top-level field", `${HEAD}status: {}\n`, 'unknown field "status"'],
    [
      "an unknown metadata field",
      `${HEAD}metadata:\n  labels: {}\n`,
      'unknown field "metadata.labels"',
    ],
    ["no node", withSpec("nodes: 0"), "spec.nodes: must be a whole number from 1 to 10000"],
    ["half a node", withSpec("nodes: 1.5"), "spec.nodes: must be a whole number from 1 to 10000"],
    ["nodes as text", withSpec('nodes: "3"'), "spec.nodes: must be a whole number from 1 to 10000"],
    [
      "a port too high",
      withSpec("apiPort: 70000"),
      "spec.apiPort: must be a whole number from 0 to 65535",
    ],
    [
      "an unknown runtime",
      withSpec("runtime: docker"),
      'spec.runtime: must be one of "auto", "process", "simulated", "oci"',
    ],
    [
      "a registry that is not a host",
      withSpec('insecureRegistries: ["http://r:5000"]'),
      "spec.insecureRegistries[0]: must be a registry host (host or host:port)",
    ],
    [
      "a CIDR that is not one",
      withSpec("podCidr: 127.244.0.0"),
      "spec.podCidr: must be an IPv4 CIDR such as 127.96.0.0/16",
    ],
    [
      "a domain with upper case",
      withSpec("clusterDomain: Cluster.Local"),
      "spec.clusterDomain: must be a DNS domain of lower-case labels (e.g. cluster.local)",
    ],
    [
      "a manifest that is not a path",
      withSpec("manifests: [app, 3]"),
      "spec.manifests[1]: must be a path (a string)",
    ],
    [
      "manifests as one string",
      withSpec("manifests: app"),
      "spec.manifests: must be a list of paths",
    ],
    ["a yes/no as text", withSpec('wait: "yes"'), "spec.wait: must be true or false"],
    [
      "a bad name",
      `${HEAD}metadata:\n  name: My_Cluster\n`,
      "metadata.name: must be lower-case letters, digits and '-', at most 63, starting and ending alphanumeric",
    ],
    [
      "another apiVersion",
      "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\n",
      'apiVersion: must be "loopkube.dev/v1alpha1"',
    ],
    [
      "another kind",
      "apiVersion: loopkube.dev/v1alpha1\nkind: Simple\n",
      'kind: must be "Cluster"',
    ],
    ["a spec that is a list", `${HEAD}spec: [1]\n`, "spec: must be a mapping"],
    ["a list", "- a\n", "must be a YAML mapping (apiVersion, kind, spec)"],
    [
      "several problems at once",
      withSpec("nodes: 0\nnodez: 1"),
      'spec.nodes: must be a whole number from 1 to 10000; unknown field "spec.nodez"',
    ],
  ];
  for (const [what, text, message] of refused) {
    test(`refuses ${what}: ${message}`, () => {
      assert.throws(() => parseClusterConfig(text, "/"), { name: "ClusterError", message });
    });
  }

  test("refuses a key given twice, and text that is not YAML", () => {
    assert.throws(() => parseClusterConfig(withSpec("nodes: 1\nnodes: 2"), "/"), {
      message: /^is not valid YAML: Map keys must be unique/,
    });
    assert.throws(() => parseClusterConfig(`${HEAD}spec: [oops\n`, "/"), {
      message: /^is not valid YAML: /,
    });
  });
});
