import type { DevConfig } from './dev-config';

/** `--dynamic-config-value` flags of `temporal server start-dev`, from temporal-dev.yml. */
export function dynamicConfigArgs(cfg: DevConfig['temporal']): string[] {
  return Object.entries(cfg.dynamicConfig).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]);
}

/** `--sqlite-pragma` flags of `temporal server start-dev`, from temporal-dev.yml (for a file-backed server). */
export function sqlitePragmaArgs(cfg: DevConfig['temporal']): string[] {
  return Object.entries(cfg.sqlitePragmas).flatMap(([key, value]) => ['--sqlite-pragma', `${key}=${value}`]);
}
