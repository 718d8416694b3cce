/**
 * The objects the API benchmark writes: a small ConfigMap (the cheapest namespaced object, as in
 * the upstream density tests' "configmaps" phase) and a realistic Deployment-made Pod of about
 * 2 KB of JSON (labels, owner reference, resources, probes, env, volume mounts).
 *
 * @module
 */

/** A ConfigMap named `name` with label `shard` = i mod 10, so a selector picks a tenth. */
export function configMap(ns: string, name: string, i: number): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: ns, labels: { app: "bench", shard: String(i % 10) } },
    data: { key: `value-${i}`, mode: "production" },
  });
}

/** A Pod as a ReplicaSet would create it (before scheduling), about 2 KB of JSON. */
export function pod(ns: string, name: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: ns,
      labels: { app: "web", tier: "frontend", "pod-template-hash": "5d9c7b8f6" },
      annotations: { "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z" },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "web-5d9c7b8f6",
          uid: "3f1e0b4c-9a7d-4c1e-8f6b-2d5a7c9e1b3f",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      containers: [
        {
          name: "web",
          image: "registry.example/web/frontend:1.27.3",
          args: ["--listen=:8080", "--log-level=info", "--cache-size=256"],
          ports: [
            { name: "http", containerPort: 8080, protocol: "TCP" },
            { name: "metrics", containerPort: 9090, protocol: "TCP" },
          ],
          env: [
            { name: "MODE", value: "production" },
            { name: "REGION", value: "local" },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          ],
          resources: {
            requests: { cpu: "100m", memory: "128Mi" },
            limits: { cpu: "500m", memory: "256Mi" },
          },
          readinessProbe: {
            httpGet: { path: "/healthz", port: "http" },
            periodSeconds: 5,
            failureThreshold: 3,
          },
          livenessProbe: {
            httpGet: { path: "/livez", port: "http" },
            initialDelaySeconds: 10,
            periodSeconds: 10,
          },
          volumeMounts: [
            { name: "config", mountPath: "/etc/web", readOnly: true },
            { name: "cache", mountPath: "/var/cache/web" },
          ],
        },
        {
          name: "log-shipper",
          image: "registry.example/tools/log-shipper:2.4.0",
          args: ["--input=/var/log/web", "--output=stdout"],
          resources: { requests: { cpu: "10m", memory: "32Mi" } },
          volumeMounts: [{ name: "cache", mountPath: "/var/log/web" }],
        },
      ],
      volumes: [
        { name: "config", configMap: { name: "web-config" } },
        { name: "cache", emptyDir: {} },
      ],
      terminationGracePeriodSeconds: 30,
      serviceAccountName: "default",
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                labelSelector: { matchLabels: { app: "web" } },
                topologyKey: "kubernetes.io/hostname",
              },
            },
          ],
        },
      },
    },
  });
}
