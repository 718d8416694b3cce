/**
 * `/openapi/v3` with the custom resources: the built-in documents, plus one document per served
 * CRD group-version built from the CRDs' schemas (so `kubectl explain` and kubectl's field
 * validation see them), rebuilt after each change of the served set. The root lists both.
 *
 * @module
 */
import { createOpenApi, type OpenApi, type Schema } from "../openapi/index.ts";
import type { CustomResources } from "./_serving.ts";

type Response = NonNullable<ReturnType<OpenApi["respond"]>>;

/** An OpenAPI responder serving `builtIn`'s documents and those of the served custom resources. */
export function withCustomResources(
  builtIn: OpenApi,
  custom: CustomResources,
): { respond: OpenApi["respond"] } {
  let current: OpenApi | undefined;
  custom.onChange(() => {
    current = undefined;
  });
  const customApi = () => {
    current ??= createOpenApi(
      custom.resources().map((r) => {
        const schema = custom.schemaOf(r) as Schema | undefined;
        return {
          ...r,
          subresources: r.subresources.map((s) => s.name),
          ...(schema ? { schema } : {}),
        };
      }),
    );
    return current;
  };
  return {
    respond(pathname, query, accept): Response | undefined {
      if (pathname === "/openapi/v3" || pathname === "/openapi/v3/") {
        const paths = { ...builtIn.root().paths, ...customApi().root().paths };
        const sorted = Object.fromEntries(
          Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : 1)),
        );
        return {
          status: 200,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ paths: sorted }),
        };
      }
      return (
        builtIn.respond(pathname, query, accept) ?? customApi().respond(pathname, query, accept)
      );
    },
  };
}
