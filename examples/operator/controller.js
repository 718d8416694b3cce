// A controller for Websites (demo.loopkube.dev/v1): for each Website it keeps a Deployment of
// `spec.replicas` pods serving `spec.message` on port 8080 and a Service in front of them, both
// owned by the Website (so deleting the Website deletes them, through the garbage collector),
// and writes `status.readyReplicas` and a Ready condition. Informers watch Websites and the
// Deployments it owns; each change queues the Website's key, and reconcile(key) compares what is
// with what should be. Plain JavaScript with one dependency, @kubernetes/client-node.
//
// Run it in a pod (in-cluster config: its ServiceAccount's token) or from a shell/test with a
// kubeconfig (KUBECONFIG or ~/.kube/config). It watches one namespace: WATCH_NAMESPACE, else its
// pod's, else the kubeconfig context's, else "default".
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
} from "@kubernetes/client-node";

const GROUP = "demo.loopkube.dev";
const VERSION = "v1";
const PLURAL = "websites";
const MANAGED = "demo.loopkube.dev/website";

// What each Website's pods run: a tiny HTTP server, inline so the pods need no code of their own.
const SERVER = `require("node:http").createServer((q, s) => s.end(process.env.MESSAGE + "\\n"))
  .listen(8080, process.env.POD_IP || "0.0.0.0")`;

/** Reads kube's message out of a client-node error: "403 Forbidden: <kube's message>". */
export function describeError(e) {
  const code = e?.code ?? e?.statusCode;
  let message = e?.message ?? String(e);
  try {
    const body = typeof e?.body === "string" ? JSON.parse(e.body) : e?.body;
    if (body?.message) message = body.message;
    if (body?.reason && code) return `${code} ${body.reason}: ${message}`;
  } catch {
    // not a Status body: keep the error's own message
  }
  return code ? `${code}: ${message}` : message;
}

const notFound = (e) => e?.code === 404 || e?.statusCode === 404;

/** The Deployment and Service a Website should have. */
export function desired(website) {
  const { name, namespace, uid } = website.metadata;
  const labels = { [MANAGED]: name };
  const owner = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "Website",
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
  const metadata = { name, namespace, labels, ownerReferences: [owner] };
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata,
    spec: {
      replicas: website.spec.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "web",
              image: "node:22-alpine",
              command: ["node", "-e", SERVER],
              ports: [{ name: "http", containerPort: 8080 }],
              env: [
                { name: "MESSAGE", value: website.spec.message },
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
              ],
            },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata,
    spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  };
  return { deployment, service };
}

/** Starts the controller; resolves to { stop() } once its informers have listed. */
export async function startController(kc, { namespace, log = console.log } = {}) {
  const ns = namespace ?? process.env.WATCH_NAMESPACE ?? namespaceOf(kc);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const crd = { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL };

  async function ensure(current, want, create, replace) {
    if (current === undefined) return create(want);
    const same =
      JSON.stringify(pick(current)) === JSON.stringify(pick(want)) &&
      JSON.stringify(current.metadata.ownerReferences) ===
        JSON.stringify(want.metadata.ownerReferences);
    if (same) return current;
    const merged = {
      ...want,
      metadata: { ...current.metadata, ...want.metadata },
      spec: { ...current.spec, ...want.spec },
    };
    return replace(merged);
  }

  async function reconcile(name) {
    let website;
    try {
      website = await custom.getNamespacedCustomObject({ ...crd, name });
    } catch (e) {
      if (notFound(e)) return; // deleted: the garbage collector removes what it owned
      throw e;
    }
    if (website.metadata.deletionTimestamp) return;
    const want = desired(website);
    const deployment = await ensure(
      await orUndefined(apps.readNamespacedDeployment({ name, namespace: ns })),
      want.deployment,
      (body) => apps.createNamespacedDeployment({ namespace: ns, body }),
      (body) => apps.replaceNamespacedDeployment({ name, namespace: ns, body }),
    );
    await ensure(
      await orUndefined(core.readNamespacedService({ name, namespace: ns })),
      want.service,
      (body) => core.createNamespacedService({ namespace: ns, body }),
      (body) => core.replaceNamespacedService({ name, namespace: ns, body }),
    );
    const ready = deployment.status?.readyReplicas ?? 0;
    const wanted = website.spec.replicas ?? 1;
    const isReady = ready >= wanted ? "True" : "False";
    const old = website.status ?? {};
    const oldReady = (old.conditions ?? []).find((c) => c.type === "Ready");
    if (old.readyReplicas === ready && oldReady?.status === isReady) return;
    const condition = {
      type: "Ready",
      status: isReady,
      reason: isReady === "True" ? "ReplicasReady" : "ReplicasNotReady",
      message: `${ready} of ${wanted} replicas ready`,
      lastTransitionTime:
        oldReady?.status === isReady ? oldReady.lastTransitionTime : new Date().toISOString(),
    };
    website.status = { readyReplicas: ready, conditions: [condition] };
    await custom.replaceNamespacedCustomObjectStatus({ ...crd, name, body: website });
    log(`website ${ns}/${name}: ${condition.message}`);
  }

  // A tiny work queue: each key at most once in it, one reconcile at a time, retried on error.
  const queued = new Set();
  let running = false;
  let stopped = false;
  const enqueue = (name) => {
    if (stopped) return;
    queued.add(name);
    if (!running) void drain();
  };
  async function drain() {
    running = true;
    while (queued.size > 0 && !stopped) {
      const [name] = queued;
      queued.delete(name);
      try {
        await reconcile(name);
      } catch (e) {
        log(`error: reconcile ${ns}/${name}: ${describeError(e)}`);
        setTimeout(() => enqueue(name), 1000).unref();
      }
    }
    running = false;
  }

  const websites = makeInformer(kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, () =>
    custom.listNamespacedCustomObject(crd),
  );
  const deployments = makeInformer(
    kc,
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    () => apps.listNamespacedDeployment({ namespace: ns, labelSelector: MANAGED }),
    MANAGED,
  );
  for (const verb of ["add", "update", "delete"]) {
    websites.on(verb, (w) => enqueue(w.metadata.name));
    deployments.on(verb, (d) => {
      const owner = (d.metadata.ownerReferences ?? []).find((o) => o.kind === "Website");
      if (owner) enqueue(owner.name);
    });
  }
  for (const [what, informer] of [
    ["websites", websites],
    ["deployments", deployments],
  ]) {
    // An informer stops on an error (a 403, a dropped watch): say why, then start it again.
    informer.on("error", (e) => {
      if (stopped) return;
      log(`error: watching ${what} in ${ns}: ${describeError(e)}`);
      setTimeout(() => !stopped && informer.start().catch(() => {}), 2000).unref();
    });
  }
  await Promise.all([websites.start(), deployments.start()]);
  log(`watching websites.${GROUP} in namespace ${ns}`);
  return {
    namespace: ns,
    async stop() {
      stopped = true;
      await Promise.all([websites.stop(), deployments.stop()]);
    },
  };
}

function pick(o) {
  const spec = o.spec ?? {};
  return o.kind === "Deployment"
    ? { replicas: spec.replicas, containers: spec.template?.spec?.containers?.map(slim) }
    : { selector: spec.selector, ports: spec.ports?.map((p) => [p.name, p.port]) };
}

const slim = (c) => ({ name: c.name, image: c.image, command: c.command, env: c.env });

async function orUndefined(promise) {
  try {
    return await promise;
  } catch (e) {
    if (notFound(e)) return undefined;
    throw e;
  }
}

function namespaceOf(kc) {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || "default";
}

/** In a pod (KUBERNETES_SERVICE_HOST set): its ServiceAccount; elsewhere: the kubeconfig. */
export function loadConfig() {
  const kc = new KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

// Run as a program (not imported): a ConfigMap volume's files are symlinks, and Node names the
// module by its real path, so compare real paths.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const kc = loadConfig();
  try {
    const controller = await startController(kc);
    process.on("SIGTERM", () => controller.stop().then(() => process.exit(0)));
  } catch (e) {
    console.log(`error: starting: ${describeError(e)}`);
    process.exit(1);
  }
}
