import { MemoryStore } from "./memory.ts";
import { runStoreConformance } from "./store.conformance.ts";

runStoreConformance("memory", (tuning) => new MemoryStore(tuning));
