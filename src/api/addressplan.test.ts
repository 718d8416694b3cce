import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  addressPlan,
  DEFAULT_PLAN,
  DEFAULT_RANGES,
  RANGE_SLOTS,
  rangeOverlaps,
  rangeSlot,
} from "./addressplan.ts";

describe("rangeSlot", () => {
  it("slot 0 is the documented default plan", () => {
    assert.deepEqual(DEFAULT_PLAN, {
      podCidr: "127.244.0.0/16",
      serviceCidr: "127.96.0.0/16",
      loadBalancerCidr: "127.100.0.0/24",
      nodeIP: "127.0.0.1",
      kubernetesServiceIP: "127.96.0.1",
      dnsServiceIP: "127.96.0.10",
      nodePortRange: { min: 30000, max: 32767 },
      clusterDomain: "cluster.local",
    });
  });

  it("offers at least 40 slots, pairwise disjoint, none in the host's 127.0.0.0/16", () => {
    assert.ok(RANGE_SLOTS >= 40);
    const host = { podCidr: "127.0.0.0/16" };
    for (let i = 0; i < RANGE_SLOTS; i++) {
      const a = rangeSlot(i);
      addressPlan(a); // each slot is a valid plan on its own
      assert.deepEqual(rangeOverlaps(a, host), i === 0 ? [["nodeIP", "podCidr"]] : [], `slot ${i}`);
      for (let j = i + 1; j < RANGE_SLOTS; j++) {
        assert.deepEqual(rangeOverlaps(a, rangeSlot(j)), [], `slots ${i} and ${j}`);
      }
    }
  });

  it("refuses an index outside the table", () => {
    assert.throws(() => rangeSlot(RANGE_SLOTS), RangeError);
    assert.throws(() => rangeSlot(-1), RangeError);
  });
});

describe("addressPlan", () => {
  it("derives the kubernetes (.1) and kube-dns (.10) Service IPs from the service range", () => {
    const plan = addressPlan(
      { ...DEFAULT_RANGES, serviceCidr: "127.97.4.0/24" },
      { clusterDomain: "example.test." },
    );
    assert.equal(plan.kubernetesServiceIP, "127.97.4.1");
    assert.equal(plan.dnsServiceIP, "127.97.4.10");
    assert.equal(plan.clusterDomain, "example.test");
  });

  it("normalizes a range to its network address", () => {
    assert.equal(
      addressPlan({ ...DEFAULT_RANGES, podCidr: "127.250.3.7/16" }).podCidr,
      "127.250.0.0/16",
    );
  });

  const refused: {
    name: string;
    ranges: Partial<typeof DEFAULT_RANGES>;
    domain?: string;
    message: RegExp;
  }[] = [
    {
      name: "a malformed range",
      ranges: { podCidr: "127.300.0.0/16" },
      message: /^pod CIDR "127.300.0.0\/16" is not an IPv4 CIDR/,
    },
    {
      name: "a range outside 127.0.0.0/8",
      ranges: { serviceCidr: "10.96.0.0/12" },
      message: /^service CIDR 10.96.0.0\/12 is outside 127.0.0.0\/8/,
    },
    {
      name: "a service range too small for kube-dns's .10",
      ranges: { serviceCidr: "127.96.0.0/29" },
      message: /^service CIDR 127.96.0.0\/29 is too small \(\/28 or larger\)/,
    },
    {
      name: "a range holding the host's 127.0.0.1",
      ranges: { podCidr: "127.0.0.0/8" },
      message: /^pod CIDR 127.0.0.0\/8 contains 127.0.0.1/,
    },
    {
      name: "pod and service ranges that overlap",
      ranges: { podCidr: "127.96.0.0/12" },
      message: /^the pod CIDR 127.96.0.0\/12 overlaps the service CIDR 127.96.0.0\/16$/,
    },
    {
      name: "a node IP inside a range",
      ranges: { nodeIP: "127.244.0.1" },
      message: /^the pod CIDR 127.244.0.0\/16 contains the node IP 127.244.0.1$/,
    },
    {
      name: "a node IP off loopback",
      ranges: { nodeIP: "10.0.0.1" },
      message: /^node IP 10.0.0.1 is not a loopback address/,
    },
    {
      name: "a cluster domain that is not a DNS name",
      ranges: {},
      domain: "not a domain",
      message: /^cluster domain "not a domain" is not a DNS name$/,
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} with one sentence`, () => {
      assert.throws(
        () => addressPlan({ ...DEFAULT_RANGES, ...c.ranges }, { clusterDomain: c.domain }),
        { message: c.message },
      );
    });
  }
});

describe("rangeOverlaps", () => {
  const cases: {
    name: string;
    a: Parameters<typeof rangeOverlaps>[0];
    b: Parameters<typeof rangeOverlaps>[1];
    want: ReturnType<typeof rangeOverlaps>;
  }[] = [
    { name: "disjoint slots", a: rangeSlot(0), b: rangeSlot(1), want: [] },
    {
      name: "the same slot meets field by field",
      a: rangeSlot(2),
      b: rangeSlot(2),
      want: [
        ["podCidr", "podCidr"],
        ["serviceCidr", "serviceCidr"],
        ["loadBalancerCidr", "loadBalancerCidr"],
        ["nodeIP", "nodeIP"],
      ],
    },
    {
      name: "one cluster's pod range over another's service range",
      a: { podCidr: "127.96.0.0/12" },
      b: rangeSlot(0),
      want: [
        ["podCidr", "serviceCidr"],
        ["podCidr", "loadBalancerCidr"],
      ],
    },
    {
      name: "halves of one /16",
      a: { podCidr: "127.241.0.0/17" },
      b: { podCidr: "127.241.128.0/17" },
      want: [],
    },
    {
      name: "a node IP inside a range",
      a: { nodeIP: "127.100.0.7" },
      b: rangeSlot(0),
      want: [["nodeIP", "loadBalancerCidr"]],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(rangeOverlaps(c.a, c.b), c.want));
  }
});
