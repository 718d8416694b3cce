/**
 * The ApiVerbs conformance suite (src/client/verbs.conformance.ts) against the two real
 * implementations: the in-process client over the registry, and the HTTP client over HTTPS to
 * the API server, authenticated by the admin client certificate.
 */
import { createInProcessClient } from "../src/apiserver/index.ts";
import { createHttpClient } from "../src/client/index.ts";
import { runApiVerbsConformance } from "../src/client/testing.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";

const WINDOW = 40;

/** Writes more events than the store's window holds, so every earlier revision is too old. */
async function expire(api: TestApiServer): Promise<void> {
  const ref = { group: "", version: "v1", resource: "configmaps" };
  for (let i = 0; i < WINDOW + 5; i++) {
    api.server.registry.createSync(ref, "kube-public", { metadata: { generateName: "expire-" } });
  }
}

runApiVerbsConformance("in-process client", async () => {
  const api = await startTestApiServer({ eventWindow: WINDOW });
  return {
    client: createInProcessClient(api.server.registry),
    teardown: () => api.stop(),
    expireRevisions: () => expire(api),
  };
});

runApiVerbsConformance("HTTP client", async () => {
  const api = await startTestApiServer({ eventWindow: WINDOW });
  const client = createHttpClient({
    server: api.server.url,
    caCert: api.pki.caCert,
    clientCert: api.pki.adminCert,
    clientKey: api.pki.adminKey,
  });
  return {
    client,
    teardown: async () => {
      client.close();
      await api.stop();
    },
    expireRevisions: () => expire(api),
  };
});
