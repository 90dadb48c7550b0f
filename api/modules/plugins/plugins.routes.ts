import { createRoute, z } from '@hono/zod-openapi';
import { pluginInstanceSchema, pluginInstanceUpdateSchema } from '../../../domain/integrations/requests';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';
import { InstanceIdParam, PluginHealthSchema, PluginIdParam, PluginInstanceSchema, PluginSchema } from './plugins.responses';

/** PLUGIN: the plugins this deployment loaded (TOLLGATE_PLUGINS), per-tenant enablement and health, and plugin instances. */

const tags = ['Plugins'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const NO_PLUGIN = 'No plugin of that id is loaded (`NOT_FOUND`)';
const BAD_BODY = 'The body does not match this document (`VALIDATION_FAILED`)';
const BAD_CONFIG = 'The config does not match the plugin’s schema (`INVALID_CONFIG`): validationErrors lists every field under `config.`';
const DUPLICATE = 'A plugin instance with this name already exists (`ALREADY_EXISTS`)';
const UNUSABLE = 'The plugin did not load (`PLUGIN_NOT_LOADED`) or is disabled for this tenant (`PLUGIN_DISABLED`)';
const BAD_EVENTS = 'an event is not one a notifier can take, or events are given to an instance of a plugin that is not a notifier (`INVALID_EVENTS`): validationErrors names each (`events.<i>`)';

export const INSTANCE_SORTS = ['created_at'] as const;
const InstanceListQuery = paginationQuery.extend({
  pluginId: z.string().max(64).optional().openapi({ description: 'Only instances of this plugin' }),
  sort: sortParam(INSTANCE_SORTS),
});

export const listPluginsRoute = createRoute({
  method: 'get', path: '/plugins', operationId: 'listPlugins', tags, summary: 'The plugins loaded at start, with what they implement and their config schema',
  responses: { 200: json(z.array(PluginSchema), 'Every plugin named in TOLLGATE_PLUGINS, loaded or not'), ...errorResponses([403]) },
});

export const getPluginRoute = createRoute({
  method: 'get', path: '/plugins/{id}', operationId: 'getPlugin', tags, summary: 'One plugin',
  request: { params: PluginIdParam },
  responses: { 200: json(PluginSchema, 'The plugin'), ...errorResponses([400, 403, 404], { 404: NO_PLUGIN }) },
});

export const enablePluginRoute = createRoute({
  method: 'post', path: '/plugins/{id}/enable', operationId: 'enablePlugin', tags, summary: 'Enable a plugin for this tenant (plugins are enabled until disabled)',
  request: { params: PluginIdParam },
  responses: { 200: json(PluginSchema, 'The plugin'), ...errorResponses([400, 403, 404, 422], { 404: NO_PLUGIN, 422: 'The plugin did not load (`PLUGIN_NOT_LOADED`)' }) },
});

export const disablePluginRoute = createRoute({
  method: 'post', path: '/plugins/{id}/disable', operationId: 'disablePlugin', tags, summary: 'Disable a plugin for this tenant: nothing calls it until it is enabled again',
  request: { params: PluginIdParam },
  responses: { 200: json(PluginSchema, 'The plugin'), ...errorResponses([400, 403, 404], { 404: NO_PLUGIN }) },
});

export const pluginHealthRoute = createRoute({
  method: 'get', path: '/plugins/{id}/health', operationId: 'getPluginHealth', tags,
  summary: 'Runs the plugin’s health check now, as an activity on the worker bounded by PLUGIN_CALL_TIMEOUT; a plugin that throws or hangs answers unhealthy with the reason',
  request: { params: PluginIdParam },
  responses: { 200: json(PluginHealthSchema, 'Its health'), ...errorResponses([400, 403, 404, 504], { 404: NO_PLUGIN, 504: 'The worker did not answer within the command timeout (`INTEGRATION_CALL_TIMEOUT`)' }) },
});

export const createInstanceRoute = createRoute({
  method: 'post', path: '/plugin-instances', operationId: 'createPluginInstance', tags, summary: 'Configure an instance of a plugin; its config is validated against the plugin’s schema',
  request: jsonBody(pluginInstanceSchema),
  responses: { 201: json(PluginInstanceSchema, 'The instance'), ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 400: BAD_BODY, 409: DUPLICATE, 422: `${BAD_CONFIG}; ${BAD_EVENTS}; ${UNUSABLE}; or no plugin of that id is loaded (\`UNKNOWN_PLUGIN\`)` }) },
});

export const listInstancesRoute = createRoute({
  method: 'get', path: '/plugin-instances', operationId: 'listPluginInstances', tags, summary: 'List plugin instances, newest first',
  request: { query: InstanceListQuery },
  responses: { 200: { description: 'A page of instances', content: { 'application/json': { schema: listEnvelope(PluginInstanceSchema) } } }, ...errorResponses([400, 403]) },
});

export const updateInstanceRoute = createRoute({
  method: 'put', path: '/plugin-instances/{id}', operationId: 'updatePluginInstance', tags, summary: 'Replace an instance’s name and config; a secret field left out keeps its stored value',
  request: { params: InstanceIdParam, ...jsonBody(pluginInstanceUpdateSchema) },
  responses: { 200: json(PluginInstanceSchema, 'The instance'), ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], { 400: BAD_BODY, 409: DUPLICATE, 422: `${BAD_CONFIG}; ${BAD_EVENTS}; ${UNUSABLE}` }) },
});

export const deleteInstanceRoute = createRoute({
  method: 'delete', path: '/plugin-instances/{id}', operationId: 'deletePluginInstance', tags, summary: 'Delete a plugin instance (refused while an approval policy names it as an http gate)',
  request: { params: InstanceIdParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses([400, 403, 404, 409], { 409: 'An approval policy names the instance as an http gate (`PLUGIN_INSTANCE_IN_USE`; `details.policies` lists them by id and name)' }),
  },
});
