import type { Pool } from '@aster/db';
import { registerService } from '../src/index.ts';

/**
 * A compute host as its agent registers it (a resource provider with 8 VCPU, 16 GB and 100 GB, a compute node
 * and an aster-compute service heard from at `seenAt`), without running an agent: for tests of what the API
 * says about hosts, not of builds on them.
 */
export async function registerComputeHost(
  pool: Pool,
  host: string,
  options: { seenAt?: Date; disabled?: boolean; forcedDown?: boolean; registered?: boolean } = {},
): Promise<string | null> {
  const { rows } = await pool.query<{ id: string }>('INSERT INTO resource_providers (name) VALUES ($1) RETURNING id', [host]);
  const provider = rows[0]!.id;
  await pool.query(
    `INSERT INTO inventories (provider_id, resource_class, total, reserved, max_unit, allocation_ratio, used)
     VALUES ($1, 'VCPU', 8, 0, 8, 1, 0), ($1, 'MEMORY_MB', 16384, 0, 16384, 1, 0), ($1, 'DISK_GB', 100, 0, 100, 1, 0)`,
    [provider],
  );
  await pool.query(`INSERT INTO compute_nodes (host, provider_id, hypervisor_type, capabilities) VALUES ($1, $2, 'qemu', '{}')`, [host, provider]);
  if (options.registered === false) return null;
  const id = await registerService(pool, host, 'aster-compute', options.seenAt ?? new Date());
  await pool.query('UPDATE services SET disabled = $2, forced_down = $3 WHERE id = $1', [id, options.disabled ?? false, options.forcedDown ?? false]);
  return id;
}
