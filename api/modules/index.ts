import { changesRouter } from './changes';
import { healthRouter } from './health';

/** Module routers, each mounted under every API prefix. */
export const modules = [healthRouter, changesRouter];
