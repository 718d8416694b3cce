/**
 * The volume controller: ensures the default StorageClass, provisions a hostPath PV under
 * `<dataDir>/volumes/<pv name>` for each claim of the `loopkube.dev/local-path` provisioner,
 * binds claim and volume, and reclaims volumes whose claim is gone. Without a data directory it
 * still ensures the class and binds, but provisions nothing (claims stay Pending with a
 * `ProvisioningFailed` event).
 *
 * One queue with three kinds of keys: `class`, `claim:<ns>/<name>`, `volume:<name>`.
 *
 * @module
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { PersistentVolume, PersistentVolumeClaim } from "kubernetes-types/core/v1.js";
import type { StorageClass } from "kubernetes-types/storage/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey, typed } from "../../api/types.ts";
import { defineController } from "../_define.ts";
import { DEFAULT_CLASS_ANNOTATION, defaultStorageClass, PROVISIONER, volumeName } from "./_plan.ts";
import { reconcileClaim, reconcileVolume } from "./reconcile.ts";

export { DEFAULT_CLASS, PROVISIONER } from "./_plan.ts";

export const NAME = "persistentvolume-controller";

export const startVolumeController = defineController<{ dataDir?: string }>({
  name: NAME,
  component: PROVISIONER,
  setup({ ctx, queue, watch, eventsFor }, options) {
    const dataDir = options.dataDir ?? ctx.dataDir;
    const claims = ctx.informers.get<PersistentVolumeClaim & KubeObject>(
      REFS.persistentvolumeclaims,
    );
    const volumes = ctx.informers.get<PersistentVolume & KubeObject>(REFS.persistentvolumes);
    const classes = ctx.informers.get<StorageClass & KubeObject>(REFS.storageclasses);

    const claimKey = (c: PersistentVolumeClaim) => `claim:${objectKey(c)}`;
    watch(claims, {
      onAdd: (c) => queue.add(claimKey(c)),
      onUpdate: (_o, c) => queue.add(claimKey(c)),
      onDelete: (c) => queue.add(`volume:${volumeName(c)}`),
    });
    watch(volumes, {
      onAdd: (v) => queue.add(`volume:${v.metadata.name}`),
      onUpdate: (_o, v) => {
        queue.add(`volume:${v.metadata.name}`);
        const ref = v.spec?.claimRef;
        if (ref?.name) queue.add(`claim:${ref.namespace ?? ""}/${ref.name}`);
      },
    });
    watch(classes, {
      onAdd: () => {
        for (const c of claims.list()) if (!c.spec?.volumeName) queue.add(claimKey(c));
      },
      onDelete: () => queue.add("class"),
    });
    queue.add("class");

    const ignoreNotFound = (e: unknown) => {
      if (!isStatusError(e, "NotFound")) throw e;
    };
    const deps: Parameters<typeof reconcileClaim>[1] = {
      getClaim: (ns, name) => claims.get(ns, name),
      getVolume: (name) => volumes.get("", name),
      getClass: (name) => classes.get("", name),
      defaultClass: () =>
        classes.list().find((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true")
          ?.metadata.name,
      claimExists: async (pv) => {
        const ref = pv.spec?.claimRef;
        if (!ref?.name) return false;
        const cached = claims.get(ref.namespace ?? "", ref.name);
        if (cached?.metadata.uid === ref.uid) return true;
        try {
          const live = await ctx.client.get(
            REFS.persistentvolumeclaims,
            ref.namespace ?? "",
            ref.name,
          );
          return live.metadata.uid === ref.uid;
        } catch (e) {
          if (isStatusError(e, "NotFound")) return false;
          throw e;
        }
      },
      // Only ever the path computed from the PV's name, never a path read from an object.
      volumePath: (pvName) => (dataDir ? join(dataDir, "volumes", pvName) : undefined),
      makeDir: async (path) => {
        await mkdir(path, { recursive: true });
      },
      removeDir: (path) => rm(path, { recursive: true, force: true }),
      createVolume: async (pv) => {
        try {
          return typed<PersistentVolume>(
            await ctx.client.create(REFS.persistentvolumes, "", asKube(pv)),
          );
        } catch (e) {
          if (!isStatusError(e, "AlreadyExists")) throw e;
          return typed<PersistentVolume>(
            await ctx.client.get(REFS.persistentvolumes, "", pv.metadata?.name ?? ""),
          );
        }
      },
      setVolumePhase: async (pv, phase) => {
        await ctx.client
          .patch(sub(REFS.persistentvolumes, "status"), "", pv.metadata?.name ?? "", "merge", {
            status: { phase },
          })
          .catch(ignoreNotFound);
      },
      deleteVolume: async (pv) => {
        await ctx.client
          .delete(REFS.persistentvolumes, "", pv.metadata?.name ?? "", {
            preconditions: { uid: pv.metadata?.uid ?? "" },
          })
          .catch(ignoreNotFound);
      },
      setClaimClass: async (pvc, className) => {
        try {
          await ctx.client.patch(
            REFS.persistentvolumeclaims,
            pvc.metadata?.namespace ?? "",
            pvc.metadata?.name ?? "",
            "merge",
            {
              metadata: { resourceVersion: pvc.metadata?.resourceVersion },
              spec: { storageClassName: className },
            },
          );
        } catch (e) {
          // An API server without retroactive default classes refuses the change: carry on.
          if (!isStatusError(e, "Invalid") && !isStatusError(e, "NotFound")) throw e;
        }
      },
      patchClaim: async (pvc, patch) => {
        await ctx.client
          .patch(
            REFS.persistentvolumeclaims,
            pvc.metadata?.namespace ?? "",
            pvc.metadata?.name ?? "",
            "merge",
            patch,
          )
          .catch(ignoreNotFound);
      },
      setClaimStatus: async (pvc, status) => {
        await ctx.client
          .patch(
            sub(REFS.persistentvolumeclaims, "status"),
            pvc.metadata?.namespace ?? "",
            pvc.metadata?.name ?? "",
            "merge",
            {
              status,
            },
          )
          .catch(ignoreNotFound);
      },
      event: eventsFor({ apiVersion: "v1", kind: "PersistentVolumeClaim" }),
    };

    const ensureClass = async () => {
      try {
        await ctx.client.get(REFS.storageclasses, "", defaultStorageClass().metadata?.name ?? "");
      } catch (e) {
        if (!isStatusError(e, "NotFound")) throw e;
        await ctx.client
          .create(REFS.storageclasses, "", asKube(defaultStorageClass()))
          .catch((err: unknown) => {
            if (!isStatusError(err, "AlreadyExists")) throw err;
          });
      }
    };

    return async (key) => {
      if (key === "class") return ensureClass();
      if (key.startsWith("claim:")) return reconcileClaim(key.slice("claim:".length), deps);
      if (key.startsWith("volume:")) return reconcileVolume(key.slice("volume:".length), deps);
    };
  },
});
