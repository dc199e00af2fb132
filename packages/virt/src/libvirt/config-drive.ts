import {
  DEFAULT_AVAILABILITY_ZONE,
  ec2MetaDataForConfigDrive,
  metadataDocuments,
  OPENSTACK_VERSIONS,
  type MetadataSource,
} from '@aster/compute';
import type { InstanceSpec } from '../driver.ts';

/** What the metadata service would say of the instance, from the build's spec. */
export function metadataSourceOf(spec: InstanceSpec): MetadataSource {
  return {
    id: spec.id,
    name: spec.name,
    hostname: spec.hostname,
    projectId: spec.projectId,
    // Availability zones are not modelled yet: every instance is in the default one, as the listener says.
    availabilityZone: DEFAULT_AVAILABILITY_ZONE,
    keyName: spec.keyName,
    keyData: spec.keyData,
    userData: spec.userData,
    metadata: spec.metadata,
    ports: spec.ports,
    launchIndex: spec.launchIndex,
    reservationId: spec.reservationId,
    flavorName: spec.flavor.name,
    createdAt: spec.createdAt,
  };
}

/**
 * The files of an instance's config drive, as Nova writes them: `openstack/<version>/…` for `latest` and every
 * dated version, and `ec2/<version>/meta-data.json` (+ `user-data`).
 */
export function configDriveFiles(spec: InstanceSpec): Record<string, string | Buffer> {
  const src = metadataSourceOf(spec);
  const files: Record<string, string | Buffer> = {};
  for (const version of [...OPENSTACK_VERSIONS, 'latest']) {
    const docs = metadataDocuments(src, version === 'latest' ? OPENSTACK_VERSIONS.at(-1)! : version);
    const dir = `openstack/${version}`;
    files[`${dir}/meta_data.json`] = JSON.stringify(docs.metaData);
    files[`${dir}/network_data.json`] = JSON.stringify(docs.networkData);
    files[`${dir}/vendor_data.json`] = JSON.stringify(docs.vendorData);
    files[`${dir}/vendor_data2.json`] = '{}';
    if (docs.userData) files[`${dir}/user_data`] = docs.userData;
  }
  for (const version of ['2009-04-04', 'latest']) {
    files[`ec2/${version}/meta-data.json`] = JSON.stringify(ec2MetaDataForConfigDrive(src));
    if (spec.userData !== null) files[`ec2/${version}/user-data`] = spec.userData;
  }
  return files;
}
