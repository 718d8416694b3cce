import { runApiVerbsConformance } from "../verbs.conformance.ts";
import { FakeApi } from "./fake.ts";

runApiVerbsConformance("in-memory fake", async () => {
  const fake = new FakeApi();
  return {
    client: fake,
    teardown: async () => fake.closeWatches(),
    expireRevisions: async () => fake.compact(),
  };
});
