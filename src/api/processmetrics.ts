/**
 * The `process_*` families every Prometheus client exports, with the Go client's names and HELP
 * texts (`prometheus/process_collector.go`): CPU seconds, resident and virtual memory, start time,
 * open and maximum file descriptors. They describe the whole loopkube process, so the API
 * server's and the DNS server's scrapes carry the same figures, as two components of one binary
 * would. Figures Linux alone has (`/proc/self`) are left out elsewhere.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import type { PrometheusWriter } from "./prometheus.ts";

function procStat(): string[] | undefined {
  try {
    const text = readFileSync("/proc/self/stat", "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function openFds(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

function maxFds(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    if (soft === undefined) return undefined;
    return soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return undefined;
  }
}

/** Appends the process families to a writer. */
export function writeProcessMetrics(w: PrometheusWriter): void {
  const cpu = process.cpuUsage();
  w.family(
    "process_cpu_seconds_total",
    "counter",
    "Total user and system CPU time spent in seconds.",
  );
  w.sample("process_cpu_seconds_total", [], (cpu.user + cpu.system) / 1e6);
  const fds = openFds();
  if (fds !== undefined) {
    w.family("process_open_fds", "gauge", "Number of open file descriptors.");
    w.sample("process_open_fds", [], fds);
  }
  const max = maxFds();
  if (max !== undefined) {
    w.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    w.sample("process_max_fds", [], max);
  }
  // Field 23 of /proc/self/stat (the 21st after the command name) is the virtual size in bytes.
  const vsize = Number(procStat()?.[20]);
  if (Number.isFinite(vsize)) {
    w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    w.sample("process_virtual_memory_bytes", [], vsize);
  }
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  w.sample("process_resident_memory_bytes", [], process.memoryUsage.rss());
  w.family(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since unix epoch in seconds.",
  );
  w.sample("process_start_time_seconds", [], Math.floor(performance.timeOrigin / 10) / 100);
}
