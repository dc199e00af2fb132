import type { Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';
import { isUuid } from '../identity/lookup.ts';

/** A flavor as servers copy it at create (`instances.flavor`): quotas read `vcpus` and `ramMb` from the copy. */
export interface Flavor {
  id: string;
  name: string;
  description: string;
  vcpus: number;
  ramMb: number;
  diskGb: number;
  isPublic: boolean;
  extraSpecs: Record<string, string>;
  createdAt: string;
}

export interface FlavorRow {
  id: string;
  name: string;
  description: string;
  vcpus: number;
  ram_mb: number;
  disk_gb: number;
  is_public: boolean;
  extra_specs: Record<string, string>;
  created_at: Date;
}

export const toFlavor = (r: FlavorRow): Flavor => ({
  id: r.id,
  name: r.name,
  description: r.description,
  vcpus: r.vcpus,
  ramMb: r.ram_mb,
  diskGb: r.disk_gb,
  isPublic: r.is_public,
  extraSpecs: r.extra_specs,
  createdAt: r.created_at.toISOString(),
});

export const maxExtraSpecs = 64;

/**
 * SQL condition: flavor `f` is usable by project $n (public, or private with an access entry).
 * `admin` is a boolean parameter: administrators use every flavor.
 */
export const visibleTo = (project: string, admin: string) =>
  `(f.is_public OR ${admin} OR EXISTS (SELECT 1 FROM flavor_access fa WHERE fa.flavor_id = f.id AND fa.project_id = ${project}))`;

/** The flavor a project may launch with, or NotFound (a private flavor without access does not exist for it). */
export const flavorNotFound = (id: string) => new AsterError('NotFound', `Flavor ${id} not found`);

export async function flavorForProject(db: Queryable, flavorId: string, projectId: string, isAdmin: boolean): Promise<Flavor> {
  if (!isUuid(flavorId)) throw flavorNotFound(flavorId);
  const { rows } = await db.query<FlavorRow>(`SELECT f.* FROM flavors f WHERE f.id = $1 AND ${visibleTo('$2', '$3')}`, [
    flavorId,
    projectId,
    isAdmin,
  ]);
  if (!rows[0]) throw flavorNotFound(flavorId);
  return toFlavor(rows[0]);
}

/** Any flavor by id, for administrators' changes. */
export async function findFlavor(db: Queryable, flavorId: string, lock = false): Promise<FlavorRow> {
  const { rows } = await db.query<FlavorRow>(`SELECT * FROM flavors WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [flavorId]);
  if (!rows[0]) throw new AsterError('NotFound', `Flavor ${flavorId} not found`);
  return rows[0];
}

const defaults = [
  { name: 'm1.tiny', vcpus: 1, ramMb: 512, diskGb: 1 },
  { name: 'm1.small', vcpus: 1, ramMb: 2048, diskGb: 20 },
  { name: 'm1.medium', vcpus: 2, ramMb: 4096, diskGb: 40 },
  { name: 'm1.large', vcpus: 4, ramMb: 8192, diskGb: 80 },
];

/**
 * Creates Nova's classic m1 flavors on a cloud that has no flavors at all, so that a new install can launch
 * at once; once an operator has any flavor, nothing is added (a deleted default does not come back).
 * Answers the names created. Safe to run from several processes at once.
 */
export async function seedFlavors(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `INSERT INTO flavors (name, vcpus, ram_mb, disk_gb)
     SELECT d.name, d.vcpus, d.ram_mb, d.disk_gb
       FROM jsonb_to_recordset($1::jsonb) AS d(name text, vcpus int, ram_mb int, disk_gb int)
      WHERE NOT EXISTS (SELECT 1 FROM flavors)
     ON CONFLICT DO NOTHING
     RETURNING name`,
    [JSON.stringify(defaults.map((d) => ({ name: d.name, vcpus: d.vcpus, ram_mb: d.ramMb, disk_gb: d.diskGb })))],
  );
  const created = new Set(rows.map((r) => r.name));
  return defaults.map((d) => d.name).filter((n) => created.has(n));
}

const cpuPolicies = ['shared', 'dedicated', 'mixed'];
const threadPolicies = ['prefer', 'isolate', 'require'];

/**
 * Checks the values of the extra specs this cloud acts on (Nova's validators for the same keys);
 * other keys are kept as given. Answers the problems, one per key.
 */
export function extraSpecProblems(specs: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(specs)) {
    if (key === 'hw:cpu_policy' && !cpuPolicies.includes(value)) {
      problems.push(`${key} must be one of ${cpuPolicies.join(', ')}, not ${value}`);
    } else if (key === 'hw:cpu_thread_policy' && !threadPolicies.includes(value)) {
      problems.push(`${key} must be one of ${threadPolicies.join(', ')}, not ${value}`);
    } else if (key === 'hw:numa_nodes' && !/^[1-9][0-9]{0,2}$/.test(value)) {
      problems.push(`${key} must be a whole number from 1, not ${value}`);
    } else if (key.startsWith('quota:') && !/^-?[0-9]{1,18}$/.test(value)) {
      problems.push(`${key} must be a whole number, not ${value}`);
    }
  }
  return problems;
}
