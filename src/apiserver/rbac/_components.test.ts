import assert from "node:assert/strict";
import { test } from "node:test";
import { COMPONENT_ROLES, CONTROLLER_ROLES } from "./_components.ts";

const ROLES = [...COMPONENT_ROLES, ...CONTROLLER_ROLES];

test("component and controller roles list their verbs, groups, resources and names sorted and once, as kube's builder renders them", () => {
  for (const role of ROLES) {
    for (const rule of role.rules) {
      for (const list of [rule.verbs, rule.apiGroups, rule.resources, rule.resourceNames]) {
        if (list === undefined) continue;
        assert.deepEqual(list, [...new Set(list)].sort(), `${role.name}: ${JSON.stringify(rule)}`);
      }
    }
  }
});

test("a controller's own resource comes with update on its status and finalizers", () => {
  const rules = (name: string) => CONTROLLER_ROLES.find((r) => r.name === name)?.rules ?? [];
  assert.deepEqual(rules("deployment-controller").slice(0, 3), [
    {
      apiGroups: ["apps", "extensions"],
      resources: ["deployments"],
      verbs: ["get", "list", "update", "watch"],
    },
    { apiGroups: ["apps", "extensions"], resources: ["deployments/status"], verbs: ["update"] },
    { apiGroups: ["apps", "extensions"], resources: ["deployments/finalizers"], verbs: ["update"] },
  ]);
});

test("role names are unique", () => {
  assert.equal(new Set(COMPONENT_ROLES.map((r) => r.name)).size, COMPONENT_ROLES.length);
  assert.equal(new Set(CONTROLLER_ROLES.map((r) => r.name)).size, CONTROLLER_ROLES.length);
});
