/**
 * What the end-to-end tests with images share: why one cannot run here, and a page fetched
 * from a pod or Service address.
 *
 * @module
 */
import { get as httpGet } from "node:http";
import { imageToolsMissing } from "../src/_testing/index.ts";
import { NO_OCI } from "./_busybox.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

/**
 * Why `file` cannot run here (root and an OCI runtime, kubectl, the `tools` it needs, any
 * `also` reason), printed once; false when it can.
 */
export function imagesSkip(
  file: string,
  tools: string[] = ["docker-registry", "skopeo"],
  also: Array<string | false> = [],
): string | false {
  const missing = imageToolsMissing(tools);
  const why =
    NO_OCI ||
    NO_KUBECTL ||
    also.find((r) => r !== false) ||
    (missing.length > 0 && `needs ${missing.join(", ")} (apt-get install ${missing.join(" ")})`);
  if (why) console.log(`# ${file} skipped: ${why}`);
  return why;
}

/** `GET http://ip:port/`: the body of a 200, else `HTTP <status>`. */
export const fetchText = (ip: string, port = 80) =>
  new Promise<string>((resolve, reject) => {
    const req = httpGet({ host: ip, port, path: "/", timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve(res.statusCode === 200 ? body : `HTTP ${res.statusCode}`));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });
