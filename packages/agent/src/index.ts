export { ComputeAgent, type AgentOptions } from './agent.ts';
export {
  ensureMetadataDnat,
  METADATA_ADDRESS,
  MetadataProxy,
  MetadataRoutes,
  removeMetadataDnat,
  runIptables,
  type InstanceLookup,
  type IptablesRunner,
  type MetadataDnatOptions,
  type MetadataProxyOptions,
} from './metadata-proxy.ts';
