import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { cronJobStrategy } from "./cronjob.ts";
import { jobStrategy } from "./job.ts";

const lines = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);
const NOW = Date.parse("2026-01-01T01:00:00Z");

function job(
  spec: Record<string, unknown> = {},
  podSpec: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: "pi",
      namespace: "default",
      uid: "u1",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      template: {
        spec: {
          containers: [{ name: "pi", image: "perl:5.34.0" }],
          restartPolicy: "Never",
          ...podSpec,
        },
      },
      ...spec,
    },
  };
}

function created(obj: KubeObject): KubeObject {
  jobStrategy.applyDefaults(obj);
  jobStrategy.prepareForCreate?.(obj);
  return obj;
}

test("a Job is defaulted and given a generated selector as kube-apiserver does", () => {
  const j = created(job());
  const spec = j.spec as Record<string, unknown>;
  assert.equal(spec.completions, 1);
  assert.equal(spec.parallelism, 1);
  assert.equal(spec.backoffLimit, 6);
  assert.equal(spec.completionMode, "NonIndexed");
  assert.equal(spec.suspend, false);
  assert.equal(spec.manualSelector, false);
  assert.equal(spec.podReplacementPolicy, "TerminatingOrFailed");
  assert.deepEqual(spec.selector, { matchLabels: { "batch.kubernetes.io/controller-uid": "u1" } });
  const labels = {
    "batch.kubernetes.io/controller-uid": "u1",
    "batch.kubernetes.io/job-name": "pi",
    "controller-uid": "u1",
    "job-name": "pi",
  };
  assert.deepEqual((spec.template as { metadata: { labels: unknown } }).metadata.labels, labels);
  assert.deepEqual(j.metadata.labels, labels);
  assert.deepEqual(lines(jobStrategy.validate(j)), []);
});

test("Job defaults: parallelism alone, backoffLimitPerIndex, podFailurePolicy", () => {
  const a = created(job({ parallelism: 3 })).spec as Record<string, unknown>;
  assert.equal(a.completions, undefined);
  const b = created(job({ completionMode: "Indexed", completions: 3, backoffLimitPerIndex: 1 }))
    .spec as Record<string, unknown>;
  assert.equal(b.backoffLimit, 2147483647);
  const c = created(
    job({
      podFailurePolicy: {
        rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] }],
      },
    }),
  ).spec as {
    podReplacementPolicy: string;
    podFailurePolicy: { rules: Array<{ onPodConditions: Array<{ status: string }> }> };
  };
  assert.equal(c.podReplacementPolicy, "Failed");
  assert.equal(c.podFailurePolicy.rules[0]?.onPodConditions[0]?.status, "True");
});

test("Job validation answers with kube's messages", () => {
  const cases: Array<[string, KubeObject, string[]]> = [
    [
      "restartPolicy defaulted to Always",
      job({}, { restartPolicy: undefined }),
      ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'],
    ],
    [
      "negative backoffLimit",
      job({ backoffLimit: -1 }),
      ["spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"],
    ],
    [
      "Indexed without completions",
      job({ completionMode: "Indexed", parallelism: 2 }),
      ["spec.completions: Required value: when completion mode is Indexed"],
    ],
    [
      "per-index backoff on a NonIndexed Job",
      job({ backoffLimitPerIndex: 1 }),
      ["spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"],
    ],
    [
      "podFailurePolicy with OnFailure",
      job(
        {
          podFailurePolicy: {
            rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [42] } }],
          },
        },
        { restartPolicy: "OnFailure" },
      ),
      [
        'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
      ],
    ],
    [
      "exit code 0 with In",
      job({
        podFailurePolicy: {
          rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [0] } }],
        },
      }),
      [
        "spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
      ],
    ],
    [
      "an Indexed name too long for its hostnames",
      {
        ...job({ completionMode: "Indexed", completions: 10 }),
        metadata: { name: "a".repeat(62), namespace: "default", uid: "u1" },
      },
      [
        `metadata.name: Invalid value: "${"a".repeat(62)}": will not able to create pod with invalid DNS label: ${"a".repeat(62)}-9`,
      ],
    ],
  ];
  for (const [what, obj, want] of cases) {
    const errs = lines(jobStrategy.validate(created(obj))).filter(
      (l) => !l.startsWith("spec.template.spec.containers"),
    );
    assert.deepEqual(errs, want, what);
  }
});

test("a Job's completions, selector and template are immutable; an Indexed Job scales in tandem", () => {
  const old = created(job({ completionMode: "Indexed", completions: 3, parallelism: 3 }));
  const next = structuredClone(old);
  (next.spec as Record<string, unknown>).completions = 5;
  assert.deepEqual(lines(jobStrategy.validateUpdate(next, old)), [
    "spec.completions: Invalid value: 5: can only be modified in tandem with spec.parallelism",
  ]);
  (next.spec as Record<string, unknown>).parallelism = 5;
  assert.deepEqual(lines(jobStrategy.validateUpdate(next, old)), []);
  const plain = created(job({ completions: 2 }));
  const changed = structuredClone(plain);
  (changed.spec as Record<string, unknown>).completions = 4;
  assert.deepEqual(lines(jobStrategy.validateUpdate(changed, plain)), [
    "spec.completions: Invalid value: 4: field is immutable",
  ]);
});

test("kubectl get jobs shows kube's 1.32 columns", () => {
  assert.deepEqual(
    jobStrategy.columns.map((c) => `${c.name}${c.priority ? "*" : ""}`),
    ["Name", "Status", "Completions", "Duration", "Age", "Containers*", "Images*", "Selector*"],
  );
  const j = created(job({ completions: 5, parallelism: 2 }));
  j.status = {
    succeeded: 5,
    startTime: "2026-01-01T00:00:00Z",
    completionTime: "2026-01-01T00:00:42Z",
    conditions: [{ type: "Complete", status: "True" }],
  };
  assert.deepEqual(jobStrategy.row(j, NOW), [
    "pi",
    "Complete",
    "5/5",
    "42s",
    "60m",
    "pi",
    "perl:5.34.0",
    "batch.kubernetes.io/controller-uid=u1",
  ]);
  const queue = created(job({ parallelism: 3 }));
  queue.status = {
    startTime: "2026-01-01T00:59:00Z",
    conditions: [{ type: "FailureTarget", status: "True" }],
  };
  assert.deepEqual(jobStrategy.row(queue, NOW).slice(1, 4), ["FailureTarget", "0/1 of 3", "60s"]);
});

function cronJob(spec: Record<string, unknown>, name = "hello"): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: "default", uid: "c1", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: {
      schedule: "*/1 * * * *",
      jobTemplate: {
        spec: {
          template: {
            spec: { containers: [{ name: "c", image: "busybox" }], restartPolicy: "OnFailure" },
          },
        },
      },
      ...spec,
    },
  };
}

test("CronJob defaults and validation follow kube 1.32", () => {
  const cj = cronJob({});
  cronJobStrategy.applyDefaults(cj);
  const spec = cj.spec as Record<string, unknown>;
  assert.equal(spec.concurrencyPolicy, "Allow");
  assert.equal(spec.suspend, false);
  assert.equal(spec.successfulJobsHistoryLimit, 3);
  assert.equal(spec.failedJobsHistoryLimit, 1);
  assert.equal(
    (spec.jobTemplate as { spec: Record<string, unknown> }).spec.backoffLimit,
    undefined,
  );
  assert.deepEqual(lines(cronJobStrategy.validate(cj)), []);

  const cases: Array<[KubeObject, string[]]> = [
    [
      cronJob({ schedule: "61 * * * *" }),
      ['spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'],
    ],
    [
      cronJob({ schedule: "CRON_TZ=UTC 0 * * * *" }),
      [
        'spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
      ],
    ],
    [
      cronJob({ timeZone: "Mars/Base" }),
      ['spec.timeZone: Invalid value: "Mars/Base": unknown time zone Mars/Base'],
    ],
    [
      cronJob({ timeZone: "Local" }),
      [
        'spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones',
      ],
    ],
    [
      cronJob({ concurrencyPolicy: "Sometimes" }),
      [
        'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
      ],
    ],
    [
      cronJob({}, "x".repeat(53)),
      [`metadata.name: Invalid value: "${"x".repeat(53)}": must be no more than 52 characters`],
    ],
    [cronJob({ schedule: "@every 5m", timeZone: "Europe/Berlin" }), []],
  ];
  for (const [obj, want] of cases) {
    cronJobStrategy.applyDefaults(obj);
    assert.deepEqual(lines(cronJobStrategy.validate(obj)), want, JSON.stringify(obj.spec));
  }
});

test("kubectl get cronjobs shows kube's columns", () => {
  const cj = cronJob({ timeZone: "Europe/Berlin" });
  cronJobStrategy.applyDefaults(cj);
  cj.status = { active: [{ name: "hello-1" }], lastScheduleTime: "2026-01-01T00:59:00Z" };
  assert.deepEqual(cronJobStrategy.row(cj, NOW).slice(0, 7), [
    "hello",
    "*/1 * * * *",
    "Europe/Berlin",
    "False",
    1,
    "60s",
    "60m",
  ]);
});
