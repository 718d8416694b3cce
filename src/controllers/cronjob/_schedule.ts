/**
 * Schedule arithmetic of the CronJob controller, as kube's `utils.go` does it: the most recent
 * unmet schedule time at or before now (counting from the last schedule, or the creation, or
 * `now - startingDeadlineSeconds` when later), how many were missed (kube estimates it from the
 * interval between two activations, and warns past 100), and when to look again (the next
 * activation plus 100 ms). Job names are `<cronjob>-<scheduled time in minutes since the epoch>`.
 *
 * @module
 */
import type { CronJob } from "kubernetes-types/batch/v1.js";
import type { CronSchedule } from "../../api/cron.ts";

/** kube's nextScheduleDelta: a little past the activation, so that it has surely come. */
export const NEXT_SCHEDULE_DELTA_MS = 100;
/** Missed activations past which kube records a TooManyMissedTimes warning. */
export const TOO_MANY_MISSED = 100;

export interface RecentSchedule {
  /** Where counting started. */
  earliest: number;
  /** The latest activation at or before now that was not run yet. */
  mostRecent?: number;
  missed: number;
}

const ms = (t: string | undefined) => (t ? Date.parse(t) : Number.NaN);

export function mostRecentScheduleTime(
  cj: CronJob,
  now: number,
  schedule: CronSchedule,
  withStartingDeadline: boolean,
): RecentSchedule {
  let earliest = ms(cj.status?.lastScheduleTime);
  if (Number.isNaN(earliest)) earliest = ms(cj.metadata?.creationTimestamp) || now;
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (withStartingDeadline && deadline !== undefined && deadline !== null)
    earliest = Math.max(earliest, now - deadline * 1000);
  const t1 = schedule.next(new Date(earliest))?.getTime();
  if (t1 === undefined || now < t1) return { earliest, missed: 0 };
  const t2 = schedule.next(new Date(t1))?.getTime();
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 1 };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw new Error("time difference between two schedules is less than 1 second");
  const missed = Math.floor((now - t1) / 1000 / between) + 1;
  // kube estimates the count from one interval; the time itself is exact here: walk from a
  // little before the estimate (schedules need not be evenly spaced, e.g. weekdays only).
  let t = missed > 1000 ? Math.max(t1, t1 + (missed - 3) * between * 1000) : t1;
  if (t !== t1) t = schedule.next(new Date(t - 1000))?.getTime() ?? t1;
  let mostRecent = t;
  for (;;) {
    const n = schedule.next(new Date(mostRecent))?.getTime();
    if (n === undefined || n > now) break;
    mostRecent = n;
  }
  return { earliest, mostRecent, missed };
}

/** Milliseconds until the sync after the next activation. */
export function untilNextSchedule(
  cj: CronJob,
  now: number,
  schedule: CronSchedule,
): number | undefined {
  let from: number;
  try {
    const r = mostRecentScheduleTime(cj, now, schedule, false);
    from = r.mostRecent ?? r.earliest;
  } catch {
    from = now;
  }
  const next = schedule.next(new Date(from))?.getTime();
  if (next === undefined) return undefined;
  return Math.max(0, next + NEXT_SCHEDULE_DELTA_MS - now);
}

export function jobName(cj: CronJob, scheduled: number): string {
  return `${cj.metadata?.name ?? ""}-${Math.floor(scheduled / 60_000)}`;
}

/** RFC 3339 of an instant in an IANA zone (`2026-01-01T09:00:00+01:00`; UTC as `Z`). */
export function rfc3339In(at: number, zone: string | undefined): string {
  if (!zone || zone === "UTC") return `${new Date(at).toISOString().slice(0, 19)}Z`;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const offset = Math.round((wall - (at - (at % 1000))) / 60_000);
  if (offset === 0) return `${new Date(wall).toISOString().slice(0, 19)}Z`;
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${new Date(wall).toISOString().slice(0, 19)}${sign}${hh}:${mm}`;
}
