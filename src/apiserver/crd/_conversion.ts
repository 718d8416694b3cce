/**
 * `Webhook` conversion of custom resources (ConversionReview v1), as kube's apiextensions-apiserver
 * converts between served versions: the objects sent in one review with the desired apiVersion,
 * the response checked (uid, count, each object's apiVersion and kind, metadata unchanged but for
 * labels and annotations), kube's errors (`conversion webhook for stable.example.com/v1,
 * Kind=CronTab failed: …`).
 *
 * The registry converts synchronously; a webhook answers over the network. So a conversion the
 * cache does not hold throws {@link ConversionPending}, whose `resolve()` calls the webhook and
 * fills the cache; the registry's asynchronous paths await it and run the verb again, which then
 * finds every conversion it needs. The cache is keyed by the object's content and the target
 * version and keeps the most recent {@link CACHE_SIZE} conversions for {@link CACHE_MS} ms; a
 * conversion needed after a write (the stored object shown in the request's version) is fetched
 * without writing again (`AfterWrite` in the registry).
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { internalError, StatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";

/** What calls a webhook: the API server's webhook client, injected (see `apiserver/webhooks`). */
export type ConversionCaller = (
  clientConfig: unknown,
  timeoutSeconds: number,
  review: object,
) => Promise<unknown>;

export interface ConversionConfig {
  clientConfig: unknown;
  reviewVersions: string[];
}

const CACHE_SIZE = 10_000;
/**
 * How long a conversion is reused: long enough for the request that fetched it to run again,
 * short enough that a webhook's failure shows on the next reads (kube calls it every time).
 */
const CACHE_MS = 2000;
/** kube calls conversion webhooks with a 30 s timeout. */
const TIMEOUT_SECONDS = 30;

/** Thrown by a conversion the cache does not hold yet; `resolve()` fetches it. */
export class ConversionPending extends StatusError {
  constructor(readonly resolve: () => Promise<void>) {
    super(500, "InternalError", "Internal error occurred: a conversion webhook call is pending");
  }
}

/**
 * Thrown when a write is done but its result waits for a conversion: `finish()` shows the
 * written object once `pending` is resolved, without writing again.
 */
export class AfterWrite extends StatusError {
  constructor(
    readonly pending: ConversionPending,
    readonly finish: () => KubeObject,
  ) {
    super(500, "InternalError", "Internal error occurred: a conversion webhook call is pending");
  }
}

function gvkText(obj: KubeObject): string {
  const apiVersion = obj.apiVersion ?? "";
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  return `${group}/${version}, Kind=${obj.kind}`;
}

function failed(obj: KubeObject, why: string): StatusError {
  return internalError(`conversion webhook for ${gvkText(obj)} failed: ${why}`);
}

function sameMetadata(a: KubeObject, b: KubeObject): boolean {
  const strip = (m: KubeObject["metadata"]) => {
    const { labels: _l, annotations: _a, ...rest } = m ?? {};
    return JSON.stringify(rest);
  };
  return strip(a.metadata) === strip(b.metadata);
}

export class WebhookConverter {
  private readonly cache = new Map<string, { obj: KubeObject; at: number }>();
  private caller: ConversionCaller | undefined;

  setCaller(caller: ConversionCaller): void {
    this.caller = caller;
  }

  /** The cached conversion of `obj` to `apiVersion`, or a {@link ConversionPending}. */
  convert(config: ConversionConfig, obj: KubeObject, apiVersion: string): KubeObject {
    const key = `${apiVersion}\u0000${JSON.stringify(obj)}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at <= CACHE_MS) return structuredClone(hit.obj);
    throw new ConversionPending(async () => {
      const converted = await this.call(config, obj, apiVersion);
      this.cache.delete(key);
      this.cache.set(key, { obj: converted, at: Date.now() });
      if (this.cache.size > CACHE_SIZE) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
    });
  }

  private async call(config: ConversionConfig, obj: KubeObject, apiVersion: string) {
    const version = config.reviewVersions.find((v) => v === "v1" || v === "v1beta1");
    if (!version) throw failed(obj, "webhook does not accept v1 or v1beta1 ConversionReview");
    if (!this.caller) throw failed(obj, "no webhook client");
    const uid = randomUUID();
    const review = {
      apiVersion: `apiextensions.k8s.io/${version}`,
      kind: "ConversionReview",
      request: { uid, desiredAPIVersion: apiVersion, objects: [obj] },
    };
    let body: unknown;
    try {
      body = await this.caller(config.clientConfig, TIMEOUT_SECONDS, review);
    } catch (e) {
      throw failed(obj, (e as Error).message);
    }
    const response = (body as { response?: Record<string, unknown> } | undefined)?.response;
    if (!response) throw failed(obj, "response was absent");
    if (response.uid !== uid)
      throw failed(obj, `expected response.uid="${uid}", got "${String(response.uid ?? "")}"`);
    const result = response.result as { status?: string; message?: string } | undefined;
    if (result?.status !== "Success") throw failed(obj, result?.message ?? "");
    const objects = (response.convertedObjects ?? []) as KubeObject[];
    if (objects.length !== 1) {
      throw failed(obj, `returned ${objects.length} objects, expected 1`);
    }
    const out = objects[0]!;
    if (out.apiVersion !== apiVersion) {
      throw failed(
        obj,
        `invalid object at index 0: expected apiVersion "${apiVersion}", got "${out.apiVersion}"`,
      );
    }
    if (out.kind !== obj.kind) {
      throw failed(
        obj,
        `invalid object at index 0: expected kind "${obj.kind}", got "${out.kind}"`,
      );
    }
    if (!sameMetadata(obj, out)) {
      throw failed(
        obj,
        "invalid metadata in object returned from conversion webhook: only labels and annotations may change",
      );
    }
    return out;
  }
}
