/**
 * Pod spec defaulting as k8s `pkg/apis/core/v1/defaults.go` and the generated defaulters do it,
 * shared by Pods and by the pod templates inside workloads. `defaultPodSpec` is what every pod
 * template gets; `defaultPod` adds what only a Pod gets (enableServiceLinks, requests copied
 * from limits). IPs, service accounts, priorities and tolerations are admission's or the
 * scheduler's job and are not set here; only the deprecated `serviceAccount` alias is kept equal
 * to `serviceAccountName`, as kube's conversion does.
 *
 * @module
 */
import { child, isObj, type Obj, objs, setDefault, str } from "./_util.ts";

/** `Always` for `:latest` or an untagged image, else `IfNotPresent`; digests count as tagged. */
export function defaultPullPolicy(image: string): "Always" | "IfNotPresent" {
  if (image.includes("@")) return "IfNotPresent";
  const lastSlash = image.lastIndexOf("/");
  const lastColon = image.lastIndexOf(":");
  const tag = lastColon > lastSlash ? image.slice(lastColon + 1) : "";
  return tag === "" || tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultHttpGet(handler: unknown): void {
  if (!isObj(handler)) return;
  const httpGet = handler.httpGet;
  if (!isObj(httpGet)) return;
  setDefault(httpGet, "path", "/");
  setDefault(httpGet, "scheme", "HTTP");
}

function defaultProbe(probe: unknown): void {
  if (!isObj(probe)) return;
  // Go defaults these when zero, so an explicit 0 is replaced too.
  const zeroDefault = (key: string, value: number) => {
    if (probe[key] === undefined || probe[key] === null || probe[key] === 0) probe[key] = value;
  };
  zeroDefault("timeoutSeconds", 1);
  zeroDefault("periodSeconds", 10);
  zeroDefault("successThreshold", 1);
  zeroDefault("failureThreshold", 3);
  defaultHttpGet(probe);
  // `grpc.service` is `+default=""` in kube's types (kubectl describe reads it unchecked).
  if (isObj(probe.grpc)) setDefault(probe.grpc, "service", "");
}

function defaultContainer(c: Obj): void {
  setDefault(c, "imagePullPolicy", defaultPullPolicy(str(c.image)));
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  for (const p of objs(c.ports)) setDefault(p, "protocol", "TCP");
  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) defaultProbe(c[probe]);
  if (isObj(c.lifecycle)) {
    defaultHttpGet(c.lifecycle.postStart);
    defaultHttpGet(c.lifecycle.preStop);
  }
  for (const e of objs(c.env)) {
    const fieldRef = isObj(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
    if (isObj(fieldRef)) setDefault(fieldRef, "apiVersion", "v1");
  }
}

const VOLUME_SOURCES = [
  "hostPath",
  "emptyDir",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "secret",
  "nfs",
  "iscsi",
  "glusterfs",
  "persistentVolumeClaim",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "downwardAPI",
  "fc",
  "azureFile",
  "configMap",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "projected",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "csi",
  "ephemeral",
  "image",
];

export function volumeSourceCount(v: Obj): number {
  return VOLUME_SOURCES.filter((k) => isObj(v[k])).length;
}

function defaultVolume(v: Obj): void {
  if (volumeSourceCount(v) === 0) v.emptyDir = {};
  if (isObj(v.secret)) setDefault(v.secret, "defaultMode", 0o644);
  if (isObj(v.configMap)) setDefault(v.configMap, "defaultMode", 0o644);
  if (isObj(v.downwardAPI)) {
    setDefault(v.downwardAPI, "defaultMode", 0o644);
    for (const item of objs(v.downwardAPI.items)) {
      if (isObj(item.fieldRef)) setDefault(item.fieldRef, "apiVersion", "v1");
    }
  }
  if (isObj(v.projected)) {
    setDefault(v.projected, "defaultMode", 0o644);
    for (const src of objs(v.projected.sources)) {
      if (isObj(src.serviceAccountToken))
        setDefault(src.serviceAccountToken, "expirationSeconds", 3600);
      if (isObj(src.downwardAPI)) {
        for (const item of objs(src.downwardAPI.items)) {
          if (isObj(item.fieldRef)) setDefault(item.fieldRef, "apiVersion", "v1");
        }
      }
    }
  }
  if (isObj(v.hostPath) && v.hostPath.type === undefined) v.hostPath.type = "";
  if (isObj(v.iscsi)) setDefault(v.iscsi, "iscsiInterface", "default");
}

/** SetDefaults_PodSpec plus the container, probe, port and volume defaulters it triggers. */
export function defaultPodSpec(spec: Obj): void {
  // The v1 ↔ internal conversion: the deprecated `serviceAccount` fills an empty
  // `serviceAccountName`, and always reads back as a copy of it.
  if (!str(spec.serviceAccountName) && str(spec.serviceAccount))
    spec.serviceAccountName = spec.serviceAccount;
  if (str(spec.serviceAccountName)) spec.serviceAccount = spec.serviceAccountName;
  else delete spec.serviceAccount;
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "restartPolicy", "Always");
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "schedulerName", "default-scheduler");
  for (const c of objs(spec.initContainers)) defaultContainer(c);
  for (const c of objs(spec.containers)) defaultContainer(c);
  for (const c of objs(spec.ephemeralContainers)) defaultContainer(c);
  for (const v of objs(spec.volumes)) defaultVolume(v);
}

/** A pod template: metadata stays as written, the spec is defaulted. */
export function defaultPodTemplate(template: unknown): void {
  if (!isObj(template)) return;
  defaultPodSpec(child(template, "spec"));
}

/** SetDefaults_Pod: what a Pod (not a template) gets on top of the spec defaults. */
export function defaultPod(pod: Obj): void {
  const spec = child(pod, "spec");
  // Limits without requests mean requests equal to limits (SetDefaults_Pod).
  for (const c of [...objs(spec.initContainers), ...objs(spec.containers)]) {
    const res = c.resources;
    if (!isObj(res) || !isObj(res.limits)) continue;
    const requests = child(res, "requests");
    for (const [k, v] of Object.entries(res.limits)) if (requests[k] === undefined) requests[k] = v;
  }
  setDefault(spec, "enableServiceLinks", true);
  if (spec.hostNetwork === true) {
    for (const c of [...objs(spec.initContainers), ...objs(spec.containers)]) {
      for (const p of objs(c.ports)) if (!p.hostPort) p.hostPort = p.containerPort;
    }
  }
  defaultPodSpec(spec);
  // A negative grace period on a Pod (not a template) is read as 1 s (kube ≥ 1.27's conversion).
  const grace = spec.terminationGracePeriodSeconds;
  if (typeof grace === "number" && grace < 0) spec.terminationGracePeriodSeconds = 1;
}
