import { existsSync } from 'node:fs';
import { dataPaths, type loadConfig } from '../../platform/config';
import { chooseDataDir, runningStacks } from './registry';

/** An explicit DATA_DIR, else the running `npm start`'s, else the default: where the dev evidence key lives. */
export function localDataDir(config: ReturnType<typeof loadConfig>): string {
  const choice = chooseDataDir({
    explicitDataDir: process.env.DATA_DIR?.trim() ? config.DATA_DIR : undefined,
    defaultDataDir: config.DATA_DIR,
    port: config.PORT,
    stacks: runningStacks(),
    hasKey: (dir) => existsSync(dataPaths(dir).evidencePrivateKey),
  });
  return 'error' in choice ? config.DATA_DIR : choice.dataDir;
}
