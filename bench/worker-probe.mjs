// Loaded into a benchmarked worker process (`node --import bench/worker-probe.mjs ...`): once a second it prints the
// process's resident memory and the event loop's delay over that second, for the load benchmark to read.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
setInterval(() => {
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const m = process.memoryUsage();
  const probe = {
    rss: m.rss,
    heap: m.heapUsed,
    external: m.external + m.arrayBuffers,
    p99: ms(delay.percentile(99)),
    max: ms(delay.max),
    mean: ms(delay.mean),
  };
  process.stdout.write(`airlock-probe ${JSON.stringify(probe)}\n`);
  delay.reset();
}, 1000).unref();
