import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time used by the processes of a benchmark, read from /proc (Linux): the Rollcall server,
 * PostgreSQL (all its processes) and the other node processes (the load generator, the webhook
 * sink). Two snapshots around a phase say where that phase's CPU went, per request.
 */
type ProcessTimes = { comm: string; own: number; reapedChildren: number };
export type CpuSnapshot = Map<number, ProcessTimes>;
export type CpuSplit = { server: number; postgres: number; other: number };

const TICKS_PER_SECOND = 100;

export function cpuSnapshot(): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      // After "(comm) " come state, ppid, …: utime and stime are proc(5) fields 14-15, cutime and cstime 16-17.
      const fields = stat.slice(close + 2).split(" ").map(Number);
      snapshot.set(Number(entry), {
        comm,
        own: (fields[11]! + fields[12]!) / TICKS_PER_SECOND,
        reapedChildren: (fields[13]! + fields[14]!) / TICKS_PER_SECOND,
      });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return snapshot;
}

/**
 * CPU milliseconds per request of each part between two snapshots. A PostgreSQL backend that ended
 * in between is counted through the postmaster, which reaps it (its children's time).
 */
export function cpuPerRequest(before: CpuSnapshot, after: CpuSnapshot, serverPid: number, requests: number): CpuSplit {
  const split: CpuSplit = { server: 0, postgres: 0, other: 0 };
  for (const [pid, now] of after) {
    const then = before.get(pid);
    const used = now.own - (then?.comm === now.comm ? then.own : 0);
    if (pid === serverPid) split.server += used;
    else if (now.comm === "postgres") split.postgres += used + now.reapedChildren - (then?.reapedChildren ?? 0);
    else if (now.comm.startsWith("node")) split.other += used;
  }
  const perRequest = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, requests)) / 1000;
  return { server: perRequest(split.server), postgres: perRequest(split.postgres), other: perRequest(split.other) };
}
