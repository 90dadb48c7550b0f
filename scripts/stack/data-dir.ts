import { existsSync } from 'node:fs';
import { dataPaths, type loadConfig } from '../../platform/config';
import { chooseDataDir, runningStacks } from './registry';

type Config = ReturnType<typeof loadConfig>;
type KeyFile = (paths: ReturnType<typeof dataPaths>) => string;

/** An explicit DATA_DIR, else the running `npm start`'s, else the default; `key` names the file that marks a stack's directory. */
export function chooseLocalDataDir(config: Config, key: KeyFile) {
  return chooseDataDir({
    explicitDataDir: process.env.DATA_DIR?.trim() ? config.DATA_DIR : undefined,
    defaultDataDir: config.DATA_DIR,
    port: config.PORT,
    stacks: runningStacks(),
    hasKey: (dir) => existsSync(key(dataPaths(dir))),
  });
}

/** Where the dev evidence key lives (the configured DATA_DIR when the choice is unclear). */
export function localDataDir(config: Config): string {
  const choice = chooseLocalDataDir(config, (p) => p.evidencePrivateKey);
  return 'error' in choice ? config.DATA_DIR : choice.dataDir;
}
