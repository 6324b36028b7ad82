import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A V8 CPU profile's nodes, as `Profiler.stop` returns them. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/**
 * Profiles this process's main thread (the activities, the client and the SDK's side of the worker) across
 * the phases of one workload, when `BENCH_PROFILE` names a directory: `<dir>/<workload>.cpuprofile`, readable in
 * Chrome's DevTools, and a summary of where its samples fell. The workflow sandbox runs on a thread of its own and
 * is not in it. In process (`node:inspector`), since `node --cpu-prof` has crashed V8 under this load.
 */
export function createPhaseProfiler(dir: string | undefined) {
  if (!dir) return { around: <T>(_w: string, fn: () => Promise<T>) => fn(), summaries: () => [] as string[] };
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))),
    );
  const samples = new Map<string, Map<string, number>>();
  return {
    /** Runs `fn` with the profiler on, adding its samples to `workload`'s. */
    async around<T>(workload: string, fn: () => Promise<T>): Promise<T> {
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 200 });
      await post('Profiler.start');
      try {
        return await fn();
      } finally {
        const { profile } = await post<{ profile: { nodes: ProfileNode[] } }>('Profiler.stop');
        writeFileSync(join(dir, `${workload}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
        const byPlace = samples.get(workload) ?? new Map<string, number>();
        for (const n of profile.nodes) {
          const place = placeOf(n.callFrame);
          byPlace.set(place, (byPlace.get(place) ?? 0) + (n.hitCount ?? 0));
        }
        samples.set(workload, byPlace);
      }
    },
    /** Per workload, the places (package or file) with the most samples. */
    summaries(): string[] {
      return [...samples].map(([workload, byPlace]) => {
        const total = [...byPlace.values()].reduce((s, x) => s + x, 0);
        const top = [...byPlace]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 25)
          .map(([place, n]) => `  ${((100 * n) / total).toFixed(1).padStart(5)} %  ${place}`);
        return [`main-thread samples of ${workload} (${total}):`, ...top].join('\n');
      });
    },
  };
}

/** Where a sample fell: the package (for node_modules), else the file, else what V8 calls it. */
function placeOf(frame: { functionName: string; url: string }): string {
  const { url, functionName } = frame;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (!url) return `(${functionName || 'anonymous'})`;
  return url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '');
}
