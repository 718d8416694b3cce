// A StatefulSet member: on first start it writes its identity into its volume (DATA_DIR), then
// serves what the volume holds, so a pod that comes back after a deletion shows it kept its data.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

const host = process.env.POD_IP || "127.0.0.1";
const name = process.env.POD_NAME || "unknown-pod";
const dir = process.env.DATA_DIR || ".";
const file = join(dir, "identity.txt");
// The volume is mounted at DATA_DIR by the node agent; never create it on the host.
if (!existsSync(dir)) {
  console.error(
    `${dir} is not mounted: run loopkube as root so pods get their own mount namespace`,
  );
  process.exit(1);
}
if (!existsSync(file))
  writeFileSync(file, `${name} first started at ${new Date().toISOString()}\n`);

const server = createServer((req, res) => {
  res.setHeader("content-type", "text/plain");
  res.end(req.url === "/healthz" ? "ok\n" : `${name}: ${readFileSync(file, "utf8")}`);
});
server.listen(8080, host, () => console.log(`${name} listening on ${host}:8080, data in ${file}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
