/**
 * The objects of one scale run, as Kubernetes' scalability thresholds shape them: per namespace
 * one headless Service `big` over a StatefulSet of 250 pods (the 250-endpoints-per-Service
 * limit, `podManagementPolicy: Parallel`), and `perNs - 1` Deployments of ~12–13 pods, each behind
 * a Service of its own, alternately ClusterIP and headless. 100 Services per namespace and 100
 * namespaces make 10,000 Services and 150,000 pods.
 *
 * @module
 */
import type { KubeObject } from "../../src/api/types.ts";

export interface Workload {
  namespaces: string[];
  /** Services, then Deployments and StatefulSets, in creation order. */
  objects: KubeObject[];
  services: number;
  clusterIPs: number;
  pods: number;
}

export const BIG = 250;
const PER_NS_PODS = 1500;

export function workload(services: number): Workload {
  const perNs = Math.min(100, services);
  const nsCount = Math.ceil(services / perNs);
  const namespaces = Array.from({ length: nsCount }, (_, i) => `scale-${i}`);
  const objects: KubeObject[] = [];
  let pods = 0;
  let clusterIPs = 0;
  for (const ns of namespaces) {
    objects.push(service(ns, "big", true), statefulSet(ns, "big", BIG));
    pods += BIG;
    const small = perNs - 1;
    // ~1,250 pods over the Deployments of a full namespace (12 or 13 each).
    const budget = perNs === 100 ? PER_NS_PODS - BIG : small * 13;
    for (let j = 1; j <= small; j++) {
      const replicas = Math.floor(budget / small) + (j <= budget % small ? 1 : 0);
      const headless = j % 2 === 0;
      if (!headless) clusterIPs++;
      objects.push(service(ns, `s${j}`, headless), deployment(ns, `s${j}`, replicas));
      pods += replicas;
    }
  }
  return { namespaces, objects, services: nsCount * perNs, clusterIPs, pods };
}

const podSpec = {
  containers: [{ name: "web", image: "simulated", ports: [{ containerPort: 80 }] }],
};

function service(ns: string, app: string, headless: boolean): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: app, namespace: ns },
    spec: {
      ...(headless ? { clusterIP: "None" } : {}),
      selector: { app },
      ports: [{ name: "web", port: 80, targetPort: 80 }],
    },
  };
}

function deployment(ns: string, app: string, replicas: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: app, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app } },
      template: { metadata: { labels: { app } }, spec: podSpec },
    },
  };
}

function statefulSet(ns: string, app: string, replicas: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: app, namespace: ns },
    spec: {
      replicas,
      serviceName: app,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: { app } },
      template: { metadata: { labels: { app } }, spec: podSpec },
    },
  };
}
