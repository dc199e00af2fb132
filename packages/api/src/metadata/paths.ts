import {
  EC2_VERSIONS,
  ec2Lookup,
  ec2MetaData,
  ec2Version,
  metadataDocuments,
  OPENSTACK_VERSIONS,
  openstackFiles,
  openstackVersion,
  type MetadataSource,
} from '@aster/compute';

export const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';
// User data is whatever the tenant gave: no charset is claimed for it.
const RAW = 'text/plain';

export interface Answer {
  status: number;
  contentType: string;
  body: string | Buffer;
}

const ok = (body: string | Buffer, contentType = TEXT): Answer => ({ status: 200, contentType, body });
const json = (value: unknown) => ok(JSON.stringify(value), JSON_TYPE);
const notFound = (path: string): Answer => ({ status: 404, contentType: TEXT, body: `no metadata at ${path}` });

/** The segments of a request path; null for `.` and `..`, which no metadata path has. */
export function pathSegments(pathname: string): string[] | null {
  if (!pathname.startsWith('/')) return null;
  const segments = pathname.split('/').filter((s) => s !== '');
  return segments.some((s) => s === '.' || s === '..') ? null : segments;
}

/** `/`: the EC2 versions and latest, answered to anyone as Nova does. */
export const rootListing = () => ok([...EC2_VERSIONS, 'latest'].join('\n'));

/**
 * What the instance finds at a path (segments of it, not the root): the OpenStack tree under /openstack
 * and the EC2 tree under /<version> (also /ec2/<version>). Dated versions later than `today` are not listed,
 * as Nova hides versions from the future.
 */
export function resolveMetadataPath(segments: readonly string[], src: MetadataSource, today: string, path: string): Answer {
  if (segments[0] === 'openstack') return openstack(segments.slice(1), src, today, path);
  return ec2(segments[0] === 'ec2' ? segments.slice(1) : segments, src, path);
}

function openstack(segments: readonly string[], src: MetadataSource, today: string, path: string): Answer {
  const [versionName, file, ...rest] = segments;
  if (versionName === undefined) return ok([...OPENSTACK_VERSIONS.filter((v) => v <= today), 'latest'].join('\n'));
  const version = openstackVersion(versionName);
  if (!version || rest.length > 0) return notFound(path);
  const files = openstackFiles(version, src.userData !== null);
  if (file === undefined) return ok(files.join('\n'));
  if (!files.includes(file)) return notFound(path);
  const docs = metadataDocuments(src, version);
  switch (file) {
    case 'meta_data.json':
      return json(docs.metaData);
    case 'network_data.json':
      return json(docs.networkData);
    case 'vendor_data.json':
    case 'vendor_data2.json':
      return json(docs.vendorData);
    case 'user_data':
      return docs.userData ? ok(docs.userData, RAW) : notFound(path);
    case 'password':
      // Nova keeps a password the guest posted (encrypted with its key); Aster takes none, so there is none.
      return ok('');
    default:
      return notFound(path);
  }
}

function ec2(segments: readonly string[], src: MetadataSource, path: string): Answer {
  const [versionName, part, ...rest] = segments;
  if (versionName === undefined) return rootListing();
  const version = ec2Version(versionName);
  if (!version) return notFound(path);
  if (part === undefined) return ok(src.userData === null ? 'meta-data/' : 'meta-data/\nuser-data');
  if (part === 'user-data' && rest.length === 0) return src.userData === null ? notFound(path) : ok(Buffer.from(src.userData, 'utf8'), RAW);
  if (part !== 'meta-data') return notFound(path);
  const found = ec2Lookup(ec2MetaData(src, version), rest);
  return found ? ok(found.body) : notFound(path);
}
