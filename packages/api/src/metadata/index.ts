export { createMetadataHandler, startMetadataServer, METADATA_HEADERS, type MetadataHandlerOptions, type MetadataServer } from './server.ts';
export { loadMetadataSource } from './source.ts';
