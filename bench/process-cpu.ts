import { readdirSync, readFileSync } from 'node:fs';

/** Linux clock ticks per second, as /proc counts CPU time (100 on every usual kernel). */
const TICKS_PER_SECOND = 100;

/** The pid of the first process whose command line `matches`, from /proc (Linux); undefined elsewhere. */
export function findPid(matches: (args: string[]) => boolean): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (matches(args)) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** CPU time (user + system, ms) a process has used so far, from /proc; NaN when it cannot be read. */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return NaN;
  }
}

/** CPU time (ms) a /proc stat line counts. */
function statCpuMs(stat: string): number {
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND; // utime, stime
}

/**
 * CPU time (ms) this process's threads have used so far, by thread name (the main thread is `main`; Node's worker
 * threads, the SDK core's runtime, libuv's pool and V8's helpers each have their own names); empty where /proc
 * cannot be read.
 */
export function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        const name = Number(tid) === process.pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        out.set(name, (out.get(name) ?? 0) + statCpuMs(stat));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}
