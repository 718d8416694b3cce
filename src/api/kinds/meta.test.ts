import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldError } from "../errors.ts";
import type { ObjectMeta } from "../types.ts";
import {
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  nameIsPathSegment,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";

const lines = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

test("validateObjectMeta words name problems as kube does for each name rule", () => {
  const cases: {
    meta: ObjectMeta;
    rule: typeof nameIsDNSSubdomain;
    namespaced: boolean;
    want: string[];
  }[] = [
    {
      meta: { name: "web", namespace: "default" },
      rule: nameIsDNSSubdomain,
      namespaced: true,
      want: [],
    },
    {
      meta: { name: "Web", namespace: "default" },
      rule: nameIsDNSSubdomain,
      namespaced: true,
      want: [`metadata.name: Invalid value: "Web": ${SUBDOMAIN_MSG}`],
    },
    {
      meta: { name: "1web", namespace: "default" },
      rule: nameIsDNS1035Label,
      namespaced: true,
      want: [`metadata.name: Invalid value: "1web": ${DNS1035_MSG}`],
    },
    {
      meta: { name: "a.b" },
      rule: nameIsDNSLabel,
      namespaced: false,
      want: [`metadata.name: Invalid value: "a.b": ${LABEL_MSG}`],
    },
    {
      meta: { namespace: "default" },
      rule: nameIsDNSSubdomain,
      namespaced: true,
      want: ["metadata.name: Required value: name or generateName is required"],
    },
    {
      meta: { generateName: "web-", namespace: "default" },
      rule: nameIsDNSSubdomain,
      namespaced: true,
      want: [],
    },
    {
      meta: { generateName: "Web-", namespace: "default" },
      rule: nameIsDNSSubdomain,
      namespaced: true,
      want: [`metadata.generateName: Invalid value: "Web-": ${SUBDOMAIN_MSG}`],
    },
    {
      meta: { name: "web" },
      rule: nameIsDNSSubdomain,
      namespaced: true,
      want: ["metadata.namespace: Required value"],
    },
    {
      meta: { name: "web", namespace: "Default" },
      rule: nameIsDNSSubdomain,
      namespaced: true,
      want: [`metadata.namespace: Invalid value: "Default": ${LABEL_MSG}`],
    },
    {
      meta: { name: "web", namespace: "default" },
      rule: nameIsDNSSubdomain,
      namespaced: false,
      want: ["metadata.namespace: Forbidden: not allowed on this type"],
    },
    {
      meta: { name: "a/b" },
      rule: nameIsPathSegment,
      namespaced: false,
      want: [`metadata.name: Invalid value: "a/b": may not contain '/'`],
    },
    {
      meta: { name: ".." },
      rule: nameIsPathSegment,
      namespaced: false,
      want: [`metadata.name: Invalid value: "..": may not be '..'`],
    },
  ];
  for (const c of cases) {
    assert.deepEqual(
      lines(validateObjectMeta(c.meta, { namespaced: c.namespaced, nameRule: c.rule })),
      c.want,
      JSON.stringify(c.meta),
    );
  }
});

test("validateObjectMeta checks label keys, label values and annotation keys at the map's path", () => {
  const errs = lines(
    validateObjectMeta(
      {
        name: "web",
        namespace: "default",
        labels: { "-bad": "ok", good: "bad value!" },
        annotations: { "example.com/Fine_Key": "x", "bad key": "y" },
      },
      { namespaced: true, nameRule: nameIsDNSSubdomain },
    ),
  );
  assert.deepEqual(errs, [
    `metadata.labels: Invalid value: "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    `metadata.labels: Invalid value: "bad value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    `metadata.annotations: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
  ]);
});

test("validateObjectMeta limits annotations to 256 KiB in total, keys included", () => {
  const meta = (n: number): ObjectMeta => ({ name: "web", annotations: { a: "x".repeat(n) } });
  const opts = { namespaced: false, nameRule: nameIsDNSSubdomain };
  assert.deepEqual(lines(validateObjectMeta(meta(256 * 1024 - 1), opts)), []);
  assert.deepEqual(lines(validateObjectMeta(meta(256 * 1024), opts)), [
    "metadata.annotations: Too long: may not be more than 262144 bytes",
  ]);
});

test("validateObjectMeta allows only one controller owner reference", () => {
  const ref = { apiVersion: "apps/v1", kind: "ReplicaSet", uid: "u1", controller: true };
  const errs = validateObjectMeta(
    {
      name: "p",
      namespace: "d",
      ownerReferences: [
        { ...ref, name: "a" },
        { ...ref, name: "b", uid: "u2" },
      ],
    },
    { namespaced: true, nameRule: nameIsDNSSubdomain },
  );
  assert.equal(errs.length, 1);
  assert.match(
    errs[0]?.message ?? "",
    /Only one reference can have Controller set to true. Found "true" in references for a and b$/,
  );
});

test("validateObjectMetaUpdate keeps identity fields immutable", () => {
  const old: ObjectMeta = {
    name: "web",
    namespace: "default",
    uid: "u1",
    creationTimestamp: "2026-01-01T00:00:00Z",
  };
  assert.deepEqual(lines(validateObjectMetaUpdate({ ...old, labels: { a: "b" } }, old)), []);
  assert.deepEqual(lines(validateObjectMetaUpdate({ ...old, name: "web2", uid: "u2" }, old)), [
    'metadata.name: Invalid value: "web2": field is immutable',
    'metadata.uid: Invalid value: "u2": field is immutable',
  ]);
  assert.deepEqual(
    lines(validateObjectMetaUpdate({ ...old, creationTimestamp: "2026-02-01T00:00:00Z" }, old)),
    ['metadata.creationTimestamp: Invalid value: "2026-02-01T00:00:00Z": field is immutable'],
  );
});

test("validateObjectMetaUpdate refuses new finalizers once deletion started", () => {
  const old: ObjectMeta = {
    name: "web",
    deletionTimestamp: "2026-01-01T00:00:00Z",
    finalizers: ["a.io/x"],
  };
  assert.deepEqual(lines(validateObjectMetaUpdate({ ...old, finalizers: [] }, old)), []);
  assert.deepEqual(
    lines(validateObjectMetaUpdate({ ...old, finalizers: ["a.io/x", "a.io/y"] }, old)),
    [
      'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"a.io/y"}',
    ],
  );
});

test("validateObjectMetaUpdate treats a missing namespace and an empty one alike", () => {
  assert.deepEqual(
    lines(validateObjectMetaUpdate({ name: "n", namespace: "" }, { name: "n" })),
    [],
  );
  assert.deepEqual(lines(validateObjectMetaUpdate({ name: "n" }, { name: "n", uid: "u" })), [
    'metadata.uid: Invalid value: "": field is immutable',
  ]);
});
