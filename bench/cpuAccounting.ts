import { readdirSync, readFileSync } from "node:fs";
import type pg from "pg";

/**
 * CPU time used by the processes of a benchmark, read from /proc (Linux): the Rollcall server,
 * the PostgreSQL backends serving the bench's databases, and the bench's own node processes (the
 * load generator, the webhook sink). Two snapshots around a phase say where that phase's CPU went,
 * per request. Only these processes are counted: on a machine shared with other work, PostgreSQL's
 * other backends and other node processes are someone else's.
 */
type ProcessTimes = { comm: string; ppid: number; own: number };
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
      // After "(comm) " come state, ppid, …: utime and stime are proc(5) fields 14-15.
      const fields = stat.slice(close + 2).split(" ").map(Number);
      snapshot.set(Number(entry), { comm, ppid: fields[1]!, own: (fields[11]! + fields[12]!) / TICKS_PER_SECOND });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return snapshot;
}

/** The PostgreSQL backends connected to the database `db` is connected to (the server's pool among them). */
export async function backendPids(db: pg.Client): Promise<Set<number>> {
  const { rows } = await db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  return new Set(rows.map((r) => r.pid));
}

function descendsFrom(snapshot: CpuSnapshot, pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 16; p = snapshot.get(p)?.ppid ?? 0, hops++) if (p === ancestor) return true;
  return false;
}

/**
 * CPU milliseconds per request of each part between two snapshots: the server process, the given
 * PostgreSQL backends (those alive at the end; one that started during the phase counts whole), and
 * this process with its node children other than the server. Backends that ended during the phase
 * are not counted.
 */
export function cpuPerRequest(before: CpuSnapshot, after: CpuSnapshot, serverPid: number, backends: Set<number>, requests: number): CpuSplit {
  const split: CpuSplit = { server: 0, postgres: 0, other: 0 };
  for (const [pid, now] of after) {
    const then = before.get(pid);
    const used = now.own - (then?.comm === now.comm ? then.own : 0);
    if (pid === serverPid) split.server += used;
    else if (backends.has(pid)) split.postgres += used;
    else if (now.comm.startsWith("node") && descendsFrom(after, pid, process.pid) && !descendsFrom(after, pid, serverPid)) split.other += used;
  }
  const perRequest = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, requests)) / 1000;
  return { server: perRequest(split.server), postgres: perRequest(split.postgres), other: perRequest(split.other) };
}
