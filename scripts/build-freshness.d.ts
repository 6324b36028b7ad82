/** See build-freshness.js: why the checkout's build at `root` must not run for `entry`, or undefined when it may. */
export function staleBuild(root: string, entry: string): string | undefined;
