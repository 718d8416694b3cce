/**
 * The web view's page: plain TypeScript and the DOM, no framework. Why none: the page is one
 * list, one detail pane and one side panel fed by one event stream; a framework would add more
 * code than it saves and a dependency to keep current, and the 1,000-Service list needs a
 * hand-sized virtual window anyway. Text goes in through `textContent` only (no HTML from data).
 *
 * Keyboard: `/` focuses the filter, arrows move in the Service list (focus it with Tab), Enter
 * or click selects; `d` focuses the DNS box; every control is a native, focusable element.
 */
import type {
  Batch,
  DigAnswer,
  EventRow,
  QueryView,
  ServiceView,
  Snapshot,
  TrafficView,
} from "../protocol.ts";
import { CSS } from "./style.ts";

type Child = Node | string | null | undefined | false;
function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

const ROW = 28;
const MAX_LOG = 300;
const state = {
  services: new Map<string, ServiceView>(),
  sorted: [] as ServiceView[],
  namespace: localStorage.getItem("loopkube.ns") ?? "default",
  filter: "",
  selected: "",
  selectedObject: undefined as { kind: string; namespace: string; name: string } | undefined,
  queries: [] as QueryView[],
  lastSeq: 0,
  traffic: [] as TrafficView[],
  windowSeconds: 60,
  clusterDomain: "cluster.local",
  events: [] as EventRow[],
  logNs: "",
  connected: false,
};

document.head.append(h("style", {}, CSS));
const theme = localStorage.getItem("loopkube.theme");
if (theme) document.documentElement.dataset["theme"] = theme;

const nsSelect = h("select", { id: "ns", "aria-label": "Namespace" }) as HTMLSelectElement;
const filter = h("input", {
  id: "filter",
  type: "search",
  placeholder: "Filter Services ( / )",
  "aria-label": "Filter Services",
}) as HTMLInputElement;
const themeBtn = h("button", { id: "theme", type: "button" }, "Theme") as HTMLButtonElement;
const status = h("span", { class: "status", id: "status", role: "status" }, "connecting…");
const list = h("div", {
  id: "list",
  role: "listbox",
  tabindex: "0",
  "aria-label": "Services",
});
const spacer = h("div", { style: "position:relative" });
list.append(spacer);
const detail = h("section", { id: "detail", "aria-live": "polite" });
const digName = h("input", {
  id: "dig-name",
  placeholder: "my-service.default.svc.cluster.local",
  "aria-label": "Name to look up",
  size: "34",
}) as HTMLInputElement;
const digType = h("select", { id: "dig-type", "aria-label": "Record type" }) as HTMLSelectElement;
for (const t of ["A", "AAAA", "SRV", "PTR", "CNAME", "TXT", "SOA", "NS"])
  digType.append(h("option", { value: t }, t));
const digOut = h("pre", { id: "dig-out", "aria-live": "polite" }, "; ask the cluster DNS");
const digForm = h(
  "form",
  { id: "dig" },
  digName,
  " ",
  digType,
  " ",
  h("button", { type: "submit" }, "Ask the DNS"),
);
const logNs = h("select", {
  id: "log-ns",
  "aria-label": "Queries of namespace",
}) as HTMLSelectElement;
const logBody = h("tbody");
const side = h(
  "aside",
  { id: "side" },
  h("h3", {}, "Ask the DNS"),
  digForm,
  digOut,
  h("h3", {}, "Latest DNS queries ", logNs),
  h(
    "table",
    { id: "log" },
    h(
      "thead",
      {},
      h("tr", {}, ...["name", "type", "rcode", "ans", "ms"].map((c) => h("th", {}, c))),
    ),
    logBody,
  ),
);
document.body.append(
  h("header", {}, h("h1", {}, "loopkube"), nsSelect, filter, themeBtn, status),
  h("main", {}, list, detail, side),
);

themeBtn.addEventListener("click", () => {
  const cur = document.documentElement.dataset["theme"];
  const dark = cur ? cur === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  const next = dark ? "light" : "dark";
  document.documentElement.dataset["theme"] = next;
  localStorage.setItem("loopkube.theme", next);
});
nsSelect.addEventListener("change", () => {
  state.namespace = nsSelect.value;
  localStorage.setItem("loopkube.ns", state.namespace);
  resort();
  renderList();
});
filter.addEventListener("input", () => {
  state.filter = filter.value.trim().toLowerCase();
  resort();
  renderList();
});
logNs.addEventListener("change", () => {
  state.logNs = logNs.value;
  renderLog();
});
document.addEventListener("keydown", (e) => {
  const t = e.target as HTMLElement;
  if (t.tagName === "INPUT" || t.tagName === "SELECT") return;
  if (e.key === "/") {
    e.preventDefault();
    filter.focus();
  } else if (e.key === "d") {
    e.preventDefault();
    digName.focus();
  }
});
list.addEventListener("keydown", (e) => {
  const i = state.sorted.findIndex((s) => s.key === state.selected);
  let next = i;
  if (e.key === "ArrowDown") next = Math.min(state.sorted.length - 1, i + 1);
  else if (e.key === "ArrowUp") next = Math.max(0, i - 1);
  else if (e.key === "Home") next = 0;
  else if (e.key === "End") next = state.sorted.length - 1;
  else return;
  e.preventDefault();
  const s = state.sorted[next];
  if (s) {
    select(s.key);
    const top = next * ROW;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + ROW > list.scrollTop + list.clientHeight)
      list.scrollTop = top + ROW - list.clientHeight;
  }
});
list.addEventListener("scroll", () => renderList());
list.addEventListener("click", (e) => {
  const row = (e.target as HTMLElement).closest("[data-key]") as HTMLElement | null;
  if (row?.dataset["key"]) select(row.dataset["key"]);
});
digForm.addEventListener("submit", (e) => {
  e.preventDefault();
  void ask(digName.value, digType.value);
});

async function ask(name: string, type: string): Promise<void> {
  digOut.textContent = `; <<>> ${name} ${type}`;
  const r = await fetch(
    `api/dns?name=${encodeURIComponent(name)}&type=${encodeURIComponent(type)}`,
  );
  const body = (await r.json()) as DigAnswer | { error: string };
  digOut.textContent = "error" in body ? `;; ${body.error}` : body.text;
  digOut.dataset["answers"] = "error" in body ? "0" : String(body.answers.length);
}

function select(key: string): void {
  state.selected = key;
  const s = state.services.get(key);
  state.selectedObject = s ? { kind: "Service", namespace: s.namespace, name: s.name } : undefined;
  renderList();
  renderDetail();
  void loadEvents();
}

function selectPod(namespace: string, name: string): void {
  state.selectedObject = { kind: "Pod", namespace, name };
  renderDetail();
  void loadEvents();
}

async function loadEvents(): Promise<void> {
  const o = state.selectedObject;
  if (!o) return;
  const q = new URLSearchParams({ kind: o.kind, namespace: o.namespace, name: o.name });
  const r = await fetch(`api/events?${q}`);
  state.events = (await r.json()) as EventRow[];
  renderEvents();
}

function resort(): void {
  state.sorted = [...state.services.values()]
    .filter(
      (s) =>
        (state.namespace === "" || s.namespace === state.namespace) &&
        (state.filter === "" || s.name.includes(state.filter)),
    )
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const namespaces = [...new Set([...state.services.values()].map((s) => s.namespace))].sort();
  const want = ["", ...namespaces];
  if (
    nsSelect.options.length !== want.length ||
    want.some((n, i) => nsSelect.options[i]?.value !== n)
  ) {
    nsSelect.replaceChildren(
      ...want.map((n) => h("option", { value: n }, n === "" ? "all namespaces" : n)),
    );
    logNs.replaceChildren(...want.map((n) => h("option", { value: n }, n === "" ? "all" : n)));
    nsSelect.value = state.namespace;
    logNs.value = state.logNs;
  }
}

/** Only the rows in view (plus a margin) exist in the DOM: 1,000 Services cost ~40 nodes. */
function renderList(): void {
  spacer.style.height = `${state.sorted.length * ROW}px`;
  const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 5);
  const last = Math.min(state.sorted.length, first + Math.ceil(list.clientHeight / ROW) + 10);
  const rows: HTMLElement[] = [];
  for (let i = first; i < last; i++) {
    const s = state.sorted[i]!;
    const ready = s.endpoints.filter((e) => e.ready).length;
    rows.push(
      h(
        "div",
        {
          class: "row",
          role: "option",
          "data-key": s.key,
          "aria-selected": String(s.key === state.selected),
          style: `top:${i * ROW}px`,
        },
        s.name,
        h("small", {}, `${s.headless ? "headless" : s.type} · ${ready}/${s.endpoints.length}`),
        state.namespace === "" ? h("small", {}, s.namespace) : null,
      ),
    );
  }
  spacer.replaceChildren(...rows);
  list.setAttribute("aria-activedescendant", state.selected);
}

const eventsBox = h("div", { id: "events" });

function renderDetail(): void {
  const s = state.services.get(state.selected);
  if (!s) {
    detail.replaceChildren(h("p", { class: "note" }, "Select a Service."));
    return;
  }
  const readyIps = new Set(s.endpoints.filter((e) => e.ready).map((e) => e.ip));
  const dns = h(
    "table",
    { id: "dns-names" },
    h("thead", {}, h("tr", {}, h("th", {}, "name"), h("th", {}, "type"), h("th", {}, "answers"))),
    h(
      "tbody",
      {},
      ...s.dns.map((r) =>
        h(
          "tr",
          {
            class:
              r.ip && !readyIps.has(r.ip) && !s.endpoints.some((e) => e.ip === r.ip && e.ready)
                ? "faded"
                : "",
            "data-name": r.name,
          },
          h("td", { class: "mono" }, r.name),
          h("td", {}, r.type),
          h(
            "td",
            { class: "mono" },
            r.data.length ? r.data.join("\n") : "(none: no ready endpoint)",
          ),
        ),
      ),
    ),
  );
  const endpoints = h(
    "table",
    { id: "endpoints" },
    h(
      "thead",
      {},
      h("tr", {}, ...["pod", "IP", "hostname", "conditions"].map((c) => h("th", {}, c))),
    ),
    h(
      "tbody",
      {},
      ...s.endpoints.map((e) =>
        h(
          "tr",
          {
            class: e.ready ? "endpoint" : "endpoint faded",
            "data-ip": e.ip,
            "data-ready": String(e.ready),
          },
          h("td", {}, e.pod ?? "—"),
          h("td", { class: "mono" }, e.ip),
          h("td", {}, e.hostname ?? ""),
          h(
            "td",
            {},
            h(
              "span",
              { class: `badge ${e.ready ? "ok" : "bad"}` },
              e.ready ? "ready" : "not ready",
            ),
            e.serving !== e.ready ? h("span", { class: "badge warn" }, "serving") : null,
            e.terminating ? h("span", { class: "badge warn" }, "terminating") : null,
          ),
        ),
      ),
    ),
  );
  const pods = h(
    "table",
    { id: "pods" },
    h(
      "thead",
      {},
      h("tr", {}, ...["pod", "IP", "status", "owners", "storage"].map((c) => h("th", {}, c))),
    ),
    h(
      "tbody",
      {},
      ...s.pods.map((p) => {
        const btn = h("button", { type: "button", class: "linkish" }, p.name);
        btn.addEventListener("click", () => selectPod(s.namespace, p.name));
        return h(
          "tr",
          { class: p.ready ? "" : "faded" },
          h(
            "td",
            {},
            btn,
            p.ordinal !== undefined
              ? h("small", { class: "muted" }, ` ordinal ${p.ordinal}`)
              : null,
          ),
          h("td", { class: "mono" }, p.ip ?? ""),
          h(
            "td",
            {},
            p.terminating ? "Terminating" : p.phase,
            p.ready ? " · ready" : " · not ready",
          ),
          h("td", {}, p.owners.length ? p.owners.join(" ← ") : "(none)"),
          h("td", {}, (p.claims ?? []).join(", ")),
        );
      }),
    ),
  );
  const ports = s.ports
    .map(
      (p) =>
        `${p.name ? `${p.name} ` : ""}${p.port}/${p.protocol}${p.targetPort !== undefined ? ` → ${p.targetPort}` : ""}${p.nodePort ? ` (node ${p.nodePort})` : ""}`,
    )
    .join(", ");
  const svcBtn = h("button", { type: "button" }, "Service events");
  svcBtn.addEventListener("click", () => select(s.key));
  detail.replaceChildren(
    h("h2", { id: "title" }, s.name),
    h(
      "p",
      { class: "muted" },
      `${s.namespace} · ${s.headless ? "headless (clusterIP: None)" : `${s.type} ${s.clusterIP}`}${s.externalName ? ` → ${s.externalName}` : ""} · ${ports}${s.sessionAffinity && s.sessionAffinity !== "None" ? ` · affinity ${s.sessionAffinity}` : ""}`,
    ),
    h("h3", {}, "DNS names the cluster DNS answers"),
    dns,
    h("h3", {}, `Endpoints (${readyIps.size} ready of ${s.endpoints.length})`),
    endpoints,
    h("h3", {}, "Pods and owners"),
    pods,
    h("h3", {}, `Traffic through the proxy (last ${state.windowSeconds} s)`),
    renderTraffic(s),
    h("h3", {}, "Events ", svcBtn),
    eventsBox,
  );
  renderEvents();
}

function renderTraffic(s: ServiceView): HTMLElement {
  if (s.headless)
    return h(
      "p",
      { class: "note", id: "traffic" },
      "Headless: clients connect to the pods' addresses directly, the proxy is not in the path.",
    );
  const rows = state.traffic.filter((t) => t.service === s.key);
  const box = h("div", { id: "traffic" });
  const byPort = new Map<string, TrafficView[]>();
  for (const r of rows) byPort.set(r.port, [...(byPort.get(r.port) ?? []), r]);
  if (byPort.size === 0)
    box.append(h("p", { class: "note" }, "No connections in the last minute."));
  const podOf = new Map(s.endpoints.map((e) => [e.ip, e.pod ?? e.ip]));
  for (const [port, rs] of byPort) {
    const max = Math.max(...rs.map((r) => r.connections));
    const total = rs.reduce((a, r) => a + r.connections, 0);
    const bars = h("div", { class: "bars", "data-port": port });
    for (const r of rs.sort((a, b) => a.endpoint.localeCompare(b.endpoint))) {
      const ip = r.endpoint.slice(0, r.endpoint.lastIndexOf(":"));
      bars.append(
        h("span", { class: "mono" }, `${podOf.get(ip) ?? ip}`),
        h("div", {
          class: "bar",
          role: "img",
          "aria-label": `${r.connections} connections to ${r.endpoint}`,
          "data-endpoint": r.endpoint,
          "data-count": String(r.connections),
          style: `width:${(100 * r.connections) / max}%`,
        }),
        h("span", {}, String(r.connections)),
      );
    }
    box.append(
      h("p", { class: "muted" }, `port ${port || "(unnamed)"}: ${total} connections`),
      bars,
    );
  }
  return box;
}

function renderEvents(): void {
  const o = state.selectedObject;
  const now = Date.now();
  eventsBox.replaceChildren(
    h("p", { class: "muted" }, o ? `${o.kind} ${o.namespace}/${o.name}` : ""),
    state.events.length === 0
      ? h("p", { class: "note" }, "Events: <none>")
      : h(
          "table",
          {},
          h(
            "thead",
            {},
            h("tr", {}, ...["Type", "Reason", "Age", "From", "Message"].map((c) => h("th", {}, c))),
          ),
          h(
            "tbody",
            {},
            ...state.events.map((e) =>
              h(
                "tr",
                {},
                h("td", { class: e.type === "Warning" ? "warn" : "" }, e.type),
                h("td", {}, e.reason),
                h("td", {}, age(now - e.last, e.count, now - e.first)),
                h("td", {}, e.from),
                h("td", {}, e.message),
              ),
            ),
          ),
        ),
  );
}

function age(ms: number, count: number, firstMs: number): string {
  const f = (t: number) => {
    const s = Math.max(0, Math.round(t / 1000));
    return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
  };
  return count > 1 ? `${f(ms)} (x${count} over ${f(firstMs)})` : f(ms);
}

function renderLog(): void {
  const rows = state.queries
    .filter((q) => state.logNs === "" || q.namespace === state.logNs)
    .slice(-100)
    .reverse();
  logBody.replaceChildren(
    ...rows.map((q) =>
      h(
        "tr",
        { "data-name": q.name },
        h("td", { class: "mono", title: new Date(q.at).toISOString() }, q.name),
        h("td", {}, q.type),
        h("td", { class: q.rcode === "NOERROR" ? "" : "warn" }, q.rcode),
        h("td", {}, String(q.answers)),
        h("td", {}, q.latencyMs.toFixed(2)),
      ),
    ),
  );
}

let frame = 0;
let dirtyDetail = false;
let dirtyLog = false;
function schedule(detailToo: boolean, logToo: boolean): void {
  dirtyDetail ||= detailToo;
  dirtyLog ||= logToo;
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    resort();
    renderList();
    if (dirtyDetail) renderDetail();
    if (dirtyLog) renderLog();
    dirtyDetail = false;
    dirtyLog = false;
    document.body.dataset["rendered"] = String(performance.now());
  });
}

function addQueries(qs: QueryView[]): void {
  for (const q of qs) {
    if (q.seq <= state.lastSeq) continue;
    state.queries.push(q);
    state.lastSeq = q.seq;
  }
  if (state.queries.length > MAX_LOG) state.queries.splice(0, state.queries.length - MAX_LOG);
}

function connect(): void {
  const es = new EventSource("api/stream");
  es.addEventListener("snapshot", (m) => {
    const snap = JSON.parse((m as MessageEvent<string>).data) as Snapshot;
    state.services = new Map(snap.services.map((s) => [s.key, s]));
    state.traffic = snap.traffic;
    state.windowSeconds = snap.windowSeconds;
    state.clusterDomain = snap.clusterDomain;
    addQueries(snap.queries);
    if (!digName.value) digName.placeholder = `my-service.default.svc.${snap.clusterDomain}`;
    if (!state.services.has(state.selected)) {
      resort();
      state.selected = state.sorted[0]?.key ?? "";
      state.selectedObject = undefined;
      const s = state.services.get(state.selected);
      if (s) state.selectedObject = { kind: "Service", namespace: s.namespace, name: s.name };
      void loadEvents();
    }
    status.textContent = `live · ${snap.services.length} Services`;
    schedule(true, true);
  });
  es.addEventListener("batch", (m) => {
    const b = JSON.parse((m as MessageEvent<string>).data) as Batch;
    for (const s of b.upsert) state.services.set(s.key, s);
    for (const k of b.remove) state.services.delete(k);
    addQueries(b.queries);
    if (b.traffic) state.traffic = b.traffic;
    const o = state.selectedObject;
    if (o && b.events.includes(`${o.kind}/${o.namespace}/${o.name}`)) void loadEvents();
    const touched =
      b.upsert.some((s) => s.key === state.selected) ||
      b.remove.includes(state.selected) ||
      b.traffic !== undefined;
    status.textContent = `live · ${state.services.size} Services`;
    schedule(touched, b.queries.length > 0);
  });
  es.addEventListener("error", () => {
    status.textContent = "reconnecting…";
  });
}

connect();
