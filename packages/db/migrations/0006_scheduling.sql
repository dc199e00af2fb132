-- Scheduling at scale: server groups (Nova's instance groups), host aggregates and availability zones, hosts
-- forced down by an operator, recent build failures per host, scheduler hints and the zone asked for per
-- instance, and a NoValidHost fault's explanation kept as data.

CREATE TABLE server_groups (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id          uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id             uuid REFERENCES users (id) ON DELETE SET NULL,
  name                text NOT NULL,
  policy              text NOT NULL CHECK (policy IN ('affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity')),
  -- Anti-affinity only: how many members one host may run (Nova's rules.max_server_per_host); NULL is 1.
  max_server_per_host integer CHECK (max_server_per_host >= 1),
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (max_server_per_host IS NULL OR policy = 'anti-affinity')
);
CREATE INDEX server_groups_project_idx ON server_groups (project_id, created_at);

-- Members are recorded when the server is created, before it has a host. A server is in at most one group.
CREATE TABLE server_group_members (
  group_id    uuid NOT NULL REFERENCES server_groups (id) ON DELETE CASCADE,
  instance_id uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, instance_id)
);
CREATE UNIQUE INDEX server_group_members_instance_key ON server_group_members (instance_id);

ALTER TABLE quotas DROP CONSTRAINT quotas_resource_check;
ALTER TABLE quotas ADD CONSTRAINT quotas_resource_check
  CHECK (resource IN ('instances', 'cores', 'ramMb', 'keypairs', 'serverGroups', 'serverGroupMembers'));

-- Host aggregates: a set of hosts with metadata. `availability_zone` in the metadata makes the aggregate a zone;
-- other keys are matched against flavors' `aggregate_instance_extra_specs:` extra specs.
CREATE TABLE aggregates (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL,
  metadata          jsonb NOT NULL DEFAULT '{}',
  availability_zone text GENERATED ALWAYS AS (metadata ->> 'availability_zone') STORED,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX aggregates_name_key ON aggregates (lower(name));

CREATE TABLE aggregate_hosts (
  aggregate_id uuid NOT NULL REFERENCES aggregates (id) ON DELETE CASCADE,
  host         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (aggregate_id, host)
);
CREATE INDEX aggregate_hosts_host_idx ON aggregate_hosts (host);

-- An operator's word that a host is dead (Nova's forced_down): it takes no builds, whatever its heartbeat says.
ALTER TABLE services ADD COLUMN forced_down boolean NOT NULL DEFAULT false;

-- Builds that failed on the host since its last success (Nova's BuildFailureWeigher counts the same).
ALTER TABLE compute_nodes ADD COLUMN failed_builds integer NOT NULL DEFAULT 0 CHECK (failed_builds >= 0);

-- The zone the server was asked into (NULL: any), and the hints given at create (same_host, different_host).
ALTER TABLE instances ADD COLUMN availability_zone text;
ALTER TABLE instances ADD COLUMN scheduler_hints jsonb NOT NULL DEFAULT '{}';

-- A NoValidHost fault's reasons per filter, with host names (stripped for tenants when read).
ALTER TABLE instance_faults ADD COLUMN explanation jsonb;

-- The scheduler keeps what it knows of hosts in memory; a change to what it cannot see in placement (a service
-- disabled or forced down, a host registered, aggregates and zones) tells it to read hosts again.
CREATE FUNCTION hosts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('aster_hosts_changed', '');
  RETURN NULL;
END $$;
CREATE TRIGGER services_hosts_changed AFTER INSERT OR DELETE OR UPDATE OF disabled, forced_down ON services
  FOR EACH STATEMENT EXECUTE FUNCTION hosts_changed();
CREATE TRIGGER compute_nodes_hosts_changed AFTER INSERT OR DELETE OR UPDATE OF hypervisor_type, capabilities ON compute_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION hosts_changed();
CREATE TRIGGER aggregates_hosts_changed AFTER INSERT OR DELETE OR UPDATE ON aggregates
  FOR EACH STATEMENT EXECUTE FUNCTION hosts_changed();
CREATE TRIGGER aggregate_hosts_hosts_changed AFTER INSERT OR DELETE OR UPDATE ON aggregate_hosts
  FOR EACH STATEMENT EXECUTE FUNCTION hosts_changed();
