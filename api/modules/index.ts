import { agentsRouter } from './agents';
import { aiRouter } from './ai';
import { changesRouter } from './changes';
import { cmdbRouter } from './cmdb';
import { dashboardRouter } from './dashboard';
import { deploymentsRouter } from './deployments';
import { environmentsRouter } from './environments';
import { healthRouter } from './health';
import { incidentsRouter } from './incidents';
import { integrationsRouter } from './integrations';
import { knowledgeRouter } from './knowledge';
import { pipelinesRouter } from './pipelines';
import { pluginsRouter } from './plugins';
import { promotionsRouter } from './promotions';
import { releasesRouter } from './releases';
import { rolloutsRouter } from './rollouts';
import { targetsRouter } from './targets';
import { temporalCodecRouter } from './temporal-codec';
import { workflowRunsRouter } from './workflow-runs';
import { workflowTemplatesRouter } from './workflow-templates';
import { evidencePacketsRouter } from './evidence-packets';
import { auditReportsRouter } from './audit-reports';
import { versionStickersRouter } from './version-stickers';

/** Module routers, each mounted under every API prefix. */
export const modules = [
  healthRouter,
  changesRouter,
  incidentsRouter,
  cmdbRouter,
  knowledgeRouter,
  aiRouter,
  environmentsRouter,
  pipelinesRouter,
  targetsRouter,
  releasesRouter,
  promotionsRouter,
  agentsRouter,
  deploymentsRouter,
  rolloutsRouter,
  workflowTemplatesRouter,
  workflowRunsRouter,
  temporalCodecRouter,
  dashboardRouter,
  integrationsRouter,
  pluginsRouter,
  evidencePacketsRouter,
  auditReportsRouter,
  versionStickersRouter,
];
