export { ComputeAgent, type AgentOptions } from './agent.ts';
export {
  ensureMetadataDnat,
  METADATA_ADDRESS,
  MetadataProxy,
  NETWORK_ID_HEADER,
  SOURCE_ADDRESS_HEADER,
  MetadataRoutes,
  removeMetadataDnat,
  runIptables,
  type InstanceLookup,
  type IptablesRunner,
  type MetadataDnatOptions,
  type MetadataProxyOptions,
} from './metadata-proxy.ts';
export { MetadataNamespaces, namespaceNames, NAMESPACE_PREFIX, type MetadataNamespacesOptions, type MetadataPort, type NetworkPort } from './metadata-namespaces.ts';
