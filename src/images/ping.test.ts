import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openImageStore, RegistryError } from "./index.ts";

test("ImageStore.ping resolves when the registry answers anything, throws Unavailable when it cannot be reached", async () => {
  const root = mkdtempSync(join(tmpdir(), "loopkube-ping-"));
  // A registry that wants a token: a 401 is an answer.
  const server = createServer((_req, res) => {
    res.writeHead(401, { "www-authenticate": 'Bearer realm="http://127.0.0.1/token"' });
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  try {
    const store = openImageStore({ root, dockerConfig: false });
    await store.ping(`127.0.0.1:${port}/demo/app:1`, 5_000);
    await new Promise<void>((r) => server.close(() => r()));
    await assert.rejects(store.ping(`127.0.0.1:${port}/demo/app:1`, 5_000), (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.code, "Unavailable");
      assert.equal(e.status, undefined);
      assert.match(e.message, new RegExp(`^http://127\\.0\\.0\\.1:${port}/v2/: .*ECONNREFUSED`));
      return true;
    });
  } finally {
    server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
