/**
 * The string `format`s a CRD schema validates, as kube's apiextensions-apiserver does: only the
 * fixed set kube supports (`bsonobjectid`, `uri`, `email`, `hostname`, `ipv4`, `ipv6`, `cidr`,
 * `mac`, `uuid`/`uuid3`/`uuid4`/`uuid5`, `isbn`/`isbn10`/`isbn13`, `creditcard`, `ssn`,
 * `hexcolor`, `rgbcolor`, `byte`, `password`, `date`, `duration`, `datetime`), names compared
 * with dashes removed as go-openapi normalises them (`date-time` is `datetime`); any other
 * format (`int32`, `int64`, `double`, …) is ignored. Only string values are checked.
 *
 * Each check follows the Go parser kube's format registry uses (net.ParseIP, net.ParseCIDR,
 * net.ParseMAC, url.ParseRequestURI, base64.StdEncoding, time.Parse of RFC 3339 layouts, the
 * documented regular expressions); where a Go parser's corner cases are wider than a regular
 * expression here (mail.ParseAddress's display names and comments), the common forms are
 * accepted and rare ones may differ.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const UUID5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const HOSTNAME =
  /^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$/u;
const EMAIL = /^(?:[^<>@\s]+@[^<>@\s]+|[^<>]*<[^<>@\s]+@[^<>@\s]+>)$/;
const MAC =
  /^(?:[0-9a-f]{2}(?:([:-])[0-9a-f]{2})(?:\1[0-9a-f]{2}){4}(?:(?:\1[0-9a-f]{2}){2}(?:(?:\1[0-9a-f]{2}){12})?)?|[0-9a-f]{4}(?:\.[0-9a-f]{4}){2}(?:\.[0-9a-f]{4}(?:(?:\.[0-9a-f]{4}){6})?)?)$/i;
const SSN = /^\d{3}[- ]?\d{2}[- ]?\d{4}$/;
const HEXCOLOR = /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
const BYTE_255 = "\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*";
const RGBCOLOR = new RegExp(`^rgb\\(${BYTE_255},${BYTE_255},${BYTE_255}\\)$`);
const CREDITCARD =
  /^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$/;
const BSON_OBJECT_ID = /^[0-9a-fA-F]{24}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?$/;
const GO_DURATION = /^[-+]?(?:0|(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const UNIT_DURATION =
  /^(\d+)\s*(ns|nanoseconds?|us|µs|microseconds?|ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?|w|weeks?)$/;
const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function validDate(y: string, m: string, d: string): boolean {
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1) return false;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= days;
}

function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let n = Number(digits[i]);
    if (double) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
    double = !double;
  }
  return sum % 10 === 0;
}

function isbn10(text: string): boolean {
  const s = text.replace(/[\s-]/g, "");
  if (!/^\d{9}[\dX]$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += (s[i] === "X" ? 10 : Number(s[i])) * (10 - i);
  return sum % 11 === 0;
}

function isbn13(text: string): boolean {
  const s = text.replace(/[\s-]/g, "");
  if (!/^\d{13}$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(s[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(s[12]);
}

function cidr(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash < 0) return false;
  const ip = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  if (isIPv4(ip)) return Number(bits) <= 32;
  return isIPv6(ip) && !ip.includes("%") && Number(bits) <= 128;
}

function uri(text: string): boolean {
  // url.ParseRequestURI: an absolute URI or an absolute path, without spaces or bad escapes.
  if (!URI_SCHEME.test(text) && !text.startsWith("/")) return false;
  if (/[\s\x00-\x1f\x7f]/.test(text)) return false;
  return !/%(?![0-9a-fA-F]{2})/.test(text);
}

const CHECKS: Record<string, (text: string) => boolean> = {
  bsonobjectid: (s) => BSON_OBJECT_ID.test(s),
  uri,
  email: (s) => EMAIL.test(s.trim()),
  hostname: (s) => s.length <= 255 && HOSTNAME.test(s),
  ipv4: (s) => isIPv4(s),
  ipv6: (s) => isIPv6(s) && s.includes(":") && !s.includes("%"),
  cidr,
  mac: (s) => MAC.test(s),
  uuid: (s) => UUID.test(s),
  uuid3: (s) => UUID3.test(s),
  uuid4: (s) => UUID4.test(s),
  uuid5: (s) => UUID5.test(s),
  isbn: (s) => isbn10(s) || isbn13(s),
  isbn10,
  isbn13,
  creditcard: (s) => {
    const digits = s.replace(/\D/g, "");
    return CREDITCARD.test(digits) && luhn(digits);
  },
  ssn: (s) => SSN.test(s),
  hexcolor: (s) => HEXCOLOR.test(s),
  rgbcolor: (s) => RGBCOLOR.test(s),
  byte: (s) => BASE64.test(s),
  password: () => true,
  date: (s) => {
    const m = DATE.exec(s);
    return !!m && validDate(m[1]!, m[2]!, m[3]!);
  },
  duration: (s) => GO_DURATION.test(s) || UNIT_DURATION.test(s),
  datetime: (s) => {
    const m = DATETIME.exec(s);
    return !!m && validDate(m[1]!, m[2]!, m[3]!);
  },
};

/**
 * Whether `value` is a valid `format` string: true for formats kube does not validate
 * (unknown ones and the numeric `int32`/`int64`/`float`/`double`).
 */
export function matchesFormat(format: string, value: string): boolean {
  const check = CHECKS[format.replaceAll("-", "")];
  return check ? check(value) : true;
}
