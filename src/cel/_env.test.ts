import assert from "node:assert/strict";
import { test } from "node:test";
import { isCelList, parse, plan } from "@bufbuild/cel";
import { kubeEnv } from "./_env.ts";

function evaluate(expr: string): unknown {
  const r = plan(kubeEnv(), parse(expr))({});
  if (r instanceof Error) return `error: ${r.message}`;
  return isCelList(r) ? [...r] : r;
}

const CASES: Array<[string, unknown]> = [
  // lists
  ["[1, 2, 3].isSorted()", true],
  ["['b', 'a'].isSorted()", false],
  ["[1, 2, 3].sum()", 6n],
  ["[0.5, 1.5].sum()", 2],
  ["[3, 1, 2].min()", 1n],
  ["['a', 'c', 'b'].max()", "c"],
  ["[1, 2, 1].indexOf(1)", 0n],
  ["[1, 2, 1].lastIndexOf(1)", 2n],
  ["[].min()", "error: min: list is empty"],
  // regex
  ["'abc 123 def 456'.find('[0-9]+')", "123"],
  ["'abc 123 def 456'.findAll('[0-9]+')", ["123", "456"]],
  ["'abc 123 def 456'.findAll('[0-9]+', 1)", ["123"]],
  ["'abc'.find('x')", ""],
  // strings extension
  ["'Hello'.lowerAscii()", "hello"],
  ["'a,b,c'.split(',')", ["a", "b", "c"]],
  ["['a', 'b'].join('-')", "a-b"],
  // URLs
  ["url('https://example.com:8443/a/b?x=1').getHost()", "example.com:8443"],
  ["url('https://example.com:8443/a/b?x=1').getHostname()", "example.com"],
  ["url('https://[::1]:80/').getHostname()", "::1"],
  ["url('https://example.com:8443/a/b?x=1').getPort()", "8443"],
  ["url('https://example.com/a/b').getEscapedPath()", "/a/b"],
  ["url('/just/a/path').getScheme()", ""],
  ["isURL('https://example.com')", true],
  ["isURL('example.com')", false],
  // IP and CIDR
  ["isIP('10.0.0.1')", true],
  ["isIP('10.0.0.01')", false],
  ["ip('2001:db8::1').family()", 6n],
  ["ip('127.0.0.1').isLoopback()", true],
  ["ip('169.254.1.1').isLinkLocalUnicast()", true],
  ["ip('8.8.8.8').isGlobalUnicast()", true],
  ["ip.isCanonical('2001:db8::1')", true],
  ["ip.isCanonical('2001:DB8::1')", false],
  ["cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))", true],
  ["cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')", true],
  ["cidr('10.0.0.0/16').containsCIDR('10.0.0.0/8')", false],
  ["string(cidr('10.1.2.3/8').masked())", "10.0.0.0/8"],
  ["cidr('10.1.2.3/8').prefixLength()", 8n],
  ["string(cidr('10.1.2.3/8').ip())", "10.1.2.3"],
  ["isCIDR('10.0.0.0/33')", false],
  [
    "ip('::ffff:1.2.3.4')",
    'error: IP Address "::ffff:1.2.3.4" parse error during conversion from string: IPv4-mapped IPv6 addresses are not allowed',
  ],
  // quantity
  ["quantity('1Gi').isGreaterThan(quantity('1G'))", true],
  ["quantity('500m').isInteger()", false],
  ["quantity('2k').asInteger()", 2000n],
  ["quantity('1').add(quantity('500m')).asApproximateFloat()", 1.5],
  ["quantity('1').sub(2).sign()", -1n],
  ["quantity('1Mi').compareTo(quantity('1024Ki'))", 0n],
  ["isQuantity('1.5Gi')", true],
  ["isQuantity('1.5 Gi')", false],
  // semver
  ["semver('1.2.3').major()", 1n],
  ["semver('1.2.3-alpha.1').isLessThan(semver('1.2.3-alpha.2'))", true],
  ["semver('1.10.0').isGreaterThan(semver('1.9.9'))", true],
  ["isSemver('1.2')", false],
  // sets and base64
  ["sets.contains([1, 2, 3], [3, 1])", true],
  ["sets.equivalent([1, 2], [2, 1, 1])", true],
  ["sets.intersects([1], [2])", false],
  ["base64.encode(b'hi')", "aGk="],
  // format
  ["format.dns1123Label().validate('ok-name').hasValue()", false],
  [
    "format.dns1123Label().validate('Not_OK').value()",
    [
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ],
  ],
  ["format.named('labelValue').hasValue()", true],
  ["format.named('nope').hasValue()", false],
  ["format.named('uuid').value().validate('x').hasValue()", true],
  // optional values
  ["optional.of(1).hasValue()", true],
  ["optional.none().hasValue()", false],
  ["optional.none().orValue('x')", "x"],
  ["optional.ofNonZeroValue('').hasValue()", false],
  ["optional.none().or(optional.of(2)).value()", 2n],
  ["optional.none().value()", "error: optional.none() dereference"],
];

test("kube's CEL libraries answer as kube's do", () => {
  const wrong: string[] = [];
  for (const [expr, want] of CASES) {
    const got = evaluate(expr);
    try {
      assert.deepEqual(got, want);
    } catch {
      wrong.push(`${expr}: got ${String(got)}, want ${String(want)}`);
    }
  }
  assert.deepEqual(wrong, []);
});
