import assert from "node:assert/strict";
import { test } from "node:test";
import { deprecationWarning } from "./_served.ts";
import type { CrdSpec, CrdVersion } from "./_types.ts";

const version = (name: string, extra: Partial<CrdVersion> = {}): CrdVersion => ({
  name,
  served: true,
  storage: false,
  ...extra,
});

test("deprecationWarning names the best served, non-deprecated version above the deprecated one", () => {
  const cases: Array<{ name: string; versions: CrdVersion[]; asked: string; want?: string }> = [
    {
      name: "not deprecated: no warning",
      versions: [version("v1")],
      asked: "v1",
    },
    {
      name: "kube's default text with the newest better version",
      versions: [
        version("v1alpha1", { deprecated: true }),
        version("v1beta1"),
        version("v1", { storage: true }),
      ],
      asked: "v1alpha1",
      want: "example.com/v1alpha1 CronTab is deprecated; use example.com/v1 CronTab",
    },
    {
      name: "unserved and deprecated versions are never suggested",
      versions: [
        version("v1beta1", { deprecated: true }),
        version("v1", { served: false }),
        version("v2", { deprecated: true }),
      ],
      asked: "v1beta1",
      want: "example.com/v1beta1 CronTab is deprecated",
    },
    {
      name: "only versions of higher priority are suggested",
      versions: [version("v1", { deprecated: true }), version("v2beta1")],
      asked: "v1",
      want: "example.com/v1 CronTab is deprecated",
    },
    {
      name: "the CRD's own text wins",
      versions: [version("v1", { deprecated: true, deprecationWarning: "v1 goes away" })],
      asked: "v1",
      want: "v1 goes away",
    },
  ];
  for (const c of cases) {
    const spec: CrdSpec = {
      group: "example.com",
      names: { plural: "crontabs", kind: "CronTab" },
      scope: "Namespaced",
      versions: c.versions,
    };
    const asked = c.versions.find((v) => v.name === c.asked)!;
    assert.equal(deprecationWarning(spec, asked), c.want, c.name);
  }
});
