import assert from "node:assert/strict";
import { test } from "node:test";
import { REFS } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";

function setup() {
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const { registry } = createRegistry(openStore({ backend: "memory" }), {
    now: () => new Date(clock),
  });
  const klass = (name: string, isDefault: boolean) => {
    clock += 1000;
    registry.createSync(REFS.ingressclasses, "", {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: {
        name,
        ...(isDefault
          ? { annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } }
          : {}),
      },
      spec: { controller: `example.com/${name}` },
    } as KubeObject);
  };
  const ingress = (name: string, extra: { spec?: object; annotations?: object } = {}) =>
    registry.createSync(REFS.ingresses, "default", {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
      spec: { defaultBackend: { service: { name: "web", port: { number: 80 } } }, ...extra.spec },
    } as KubeObject);
  const className = (obj: KubeObject) =>
    (obj.spec as { ingressClassName?: string }).ingressClassName;
  return { registry, klass, ingress, className };
}

test("DefaultIngressClass leaves an Ingress without a class alone while no class is default", () => {
  const { klass, ingress, className } = setup();
  klass("other", false);
  assert.equal(className(ingress("a")), undefined);
});

test("DefaultIngressClass gives a new Ingress without a class the default class, newest first", () => {
  const { klass, ingress, className } = setup();
  klass("older", true);
  assert.equal(className(ingress("a")), "older");
  klass("newer", true);
  assert.equal(className(ingress("b")), "newer");
});

test("DefaultIngressClass respects a class given by name or by the legacy annotation", () => {
  const { klass, ingress, className } = setup();
  klass("loopkube", true);
  assert.equal(className(ingress("a", { spec: { ingressClassName: "nginx" } })), "nginx");
  const legacy = ingress("b", { annotations: { "kubernetes.io/ingress.class": "nginx" } });
  assert.equal(className(legacy), undefined);
});

test("DefaultIngressClass acts on create only: an update that drops the class keeps none", () => {
  const { registry, klass, ingress, className } = setup();
  klass("loopkube", true);
  const created = ingress("a");
  const next = structuredClone(created);
  delete (next.spec as { ingressClassName?: string }).ingressClassName;
  const updated = registry.updateSync(REFS.ingresses, "default", next);
  assert.equal(className(updated), undefined);
});
