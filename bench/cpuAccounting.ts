import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time used so far by the processes of a benchmark, read from /proc (Linux): the Rollcall
 * server, every PostgreSQL process, and everything else (the load generator, the webhook sink).
 * Two snapshots around a phase say where that phase's CPU went, per request.
 */
export type CpuSnapshot = { server: number; postgres: number; other: number };

const TICKS_PER_SECOND = 100;

function processTimes(): Array<{ pid: number; comm: string; seconds: number }> {
  const out: Array<{ pid: number; comm: string; seconds: number }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      // After "(comm) ": state is field 0, utime field 11, stime field 12 (proc(5) fields 14 and 15).
      out.push({ pid: Number(entry), comm, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return out;
}

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  const snapshot: CpuSnapshot = { server: 0, postgres: 0, other: 0 };
  for (const p of processTimes()) {
    if (p.pid === serverPid) snapshot.server += p.seconds;
    else if (p.comm === "postgres") snapshot.postgres += p.seconds;
    else if (p.comm === "node" || p.comm.startsWith("node")) snapshot.other += p.seconds;
  }
  return snapshot;
}

/** CPU milliseconds per request spent by each part between two snapshots. */
export function cpuPerRequest(before: CpuSnapshot, after: CpuSnapshot, requests: number): CpuSnapshot {
  const per = (key: keyof CpuSnapshot) => Math.round(((after[key] - before[key]) * 1e6) / Math.max(1, requests)) / 1000;
  return { server: per("server"), postgres: per("postgres"), other: per("other") };
}
