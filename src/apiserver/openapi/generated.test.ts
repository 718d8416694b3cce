// The committed schemas must be exactly what the generator produces from the installed packages,
// so that nobody edits the generated file by hand and an upgrade of kubernetes-types or
// @kubernetes/client-node without regeneration fails here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { generateSchemas, OUTPUT, serialize } from "../../../scripts/gen-openapi.ts";

const generated = generateSchemas();

test("_schemas.generated.json is up to date with scripts/gen-openapi.ts", () => {
  const committed = readFileSync(OUTPUT, "utf8");
  const fresh = serialize(generated);
  assert.ok(
    committed === fresh,
    "src/apiserver/openapi/_schemas.generated.json is stale: run `node --import tsx scripts/gen-openapi.ts`",
  );
});

test("generated schemas carry descriptions, formats and required fields", () => {
  const { schemas } = generated;
  const spec = schemas["io.k8s.api.apps.v1.DeploymentSpec"] as {
    required: string[];
    properties: Record<string, { type?: string; format?: string; description?: string }>;
  };
  assert.deepEqual(spec.required, ["selector", "template"]);
  assert.equal(spec.properties["replicas"]?.type, "integer");
  assert.equal(spec.properties["replicas"]?.format, "int32");
  assert.match(spec.properties["replicas"]?.description ?? "", /Number of desired pods/);
  const meta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"] as {
    properties: Record<string, { format?: string }>;
  };
  assert.equal(meta.properties["generation"]?.format, "int64");
});
