-- Compute: flavors, images, key pairs, networks and ports, instances with their actions and faults,
-- placement (resource providers, inventories, allocations), compute nodes, quotas.

CREATE TABLE flavors (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  vcpus       integer NOT NULL CHECK (vcpus BETWEEN 1 AND 1024),
  ram_mb      integer NOT NULL CHECK (ram_mb BETWEEN 1 AND 16777216),
  disk_gb     integer NOT NULL CHECK (disk_gb BETWEEN 0 AND 1048576),
  is_public   boolean NOT NULL DEFAULT true,
  extra_specs jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX flavors_name_key ON flavors (lower(name));

-- Projects that may use a private flavor (Nova's flavor access).
CREATE TABLE flavor_access (
  flavor_id  uuid NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  PRIMARY KEY (flavor_id, project_id)
);

CREATE TABLE images (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name             text NOT NULL,
  project_id       uuid REFERENCES projects (id) ON DELETE CASCADE,
  visibility       text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public', 'shared')),
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'saving', 'active', 'killed')),
  disk_format      text NOT NULL CHECK (disk_format IN ('qcow2', 'raw', 'iso')),
  size_bytes       bigint,
  virtual_size     bigint,
  checksum_sha256  text,
  min_ram_mb       integer NOT NULL DEFAULT 0 CHECK (min_ram_mb >= 0),
  min_disk_gb      integer NOT NULL DEFAULT 0 CHECK (min_disk_gb >= 0),
  properties       jsonb NOT NULL DEFAULT '{}',
  protected        boolean NOT NULL DEFAULT false,
  fault            text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX images_project_idx ON images (project_id);

-- Projects a shared image is shared with.
CREATE TABLE image_members (
  image_id   uuid NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (image_id, project_id)
);

CREATE TABLE keypairs (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name        text NOT NULL,
  key_type    text NOT NULL,
  public_key  text NOT NULL,
  fingerprint text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, name)
);

CREATE TABLE networks (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL,
  project_id uuid REFERENCES projects (id) ON DELETE CASCADE,
  shared     boolean NOT NULL DEFAULT false,
  -- The host bridge or libvirt network the ports of this network plug into.
  bridge     text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX networks_project_idx ON networks (project_id);

CREATE TABLE subnets (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  network_id       uuid NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
  name             text NOT NULL DEFAULT '',
  cidr             cidr NOT NULL,
  gateway          inet,
  allocation_start inet NOT NULL,
  allocation_end   inet NOT NULL,
  dns_servers      inet[] NOT NULL DEFAULT '{}',
  enable_dhcp      boolean NOT NULL DEFAULT true,
  created_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (allocation_start <= allocation_end),
  CHECK (allocation_start << cidr AND allocation_end << cidr)
);

CREATE TABLE instances (
  id              uuid PRIMARY KEY,
  project_id      uuid NOT NULL REFERENCES projects (id),
  user_id         uuid REFERENCES users (id) ON DELETE SET NULL,
  name            text NOT NULL,
  hostname        text NOT NULL,
  -- Flavor and image as they were at create: a later change to either does not rewrite a server.
  flavor_id       uuid NOT NULL,
  flavor          jsonb NOT NULL,
  image_id        uuid NOT NULL,
  image           jsonb NOT NULL,
  key_name        text,
  key_data        text,
  user_data       text,
  metadata        jsonb NOT NULL DEFAULT '{}',
  tags            text[] NOT NULL DEFAULT '{}',
  -- Networks asked for at create; the scheduler gives the instance a port on each.
  requested_networks uuid[] NOT NULL DEFAULT '{}',
  vm_state        text NOT NULL,
  task_state      text,
  power_state     smallint NOT NULL DEFAULT 0,
  host            text,
  -- The scheduler's decision: the hosts still to try after the current one, and how many were tried.
  alternates      text[] NOT NULL DEFAULT '{}',
  attempts        integer NOT NULL DEFAULT 0,
  request_id      text,
  reservation_id  text NOT NULL,
  launch_index    integer NOT NULL DEFAULT 0,
  locked          boolean NOT NULL DEFAULT false,
  locked_by       text CHECK (locked_by IN ('owner', 'admin')),
  locked_reason   text,
  launched_at     timestamptz,
  terminated_at   timestamptz,
  task_started_at timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz,
  change_seq      bigint NOT NULL
);
CREATE SEQUENCE instance_change_seq;
ALTER TABLE instances ALTER COLUMN change_seq SET DEFAULT nextval('instance_change_seq');
CREATE INDEX instances_project_created_idx ON instances (project_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX instances_created_idx ON instances (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX instances_change_idx ON instances (change_seq);
CREATE INDEX instances_host_idx ON instances (host) WHERE deleted_at IS NULL;
CREATE INDEX instances_busy_idx ON instances (task_started_at) WHERE task_state IS NOT NULL AND deleted_at IS NULL;

-- Every change takes a new sequence number and is announced at commit; watchers resume from a number.
CREATE FUNCTION instances_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_seq := nextval('instance_change_seq');
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END $$;
CREATE TRIGGER instances_touch BEFORE UPDATE ON instances FOR EACH ROW EXECUTE FUNCTION instances_touch();

CREATE FUNCTION instances_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('aster_instances', NEW.change_seq::text || ' ' || NEW.project_id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER instances_notify AFTER INSERT OR UPDATE ON instances FOR EACH ROW EXECUTE FUNCTION instances_notify();

CREATE TABLE ports (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  network_id  uuid NOT NULL REFERENCES networks (id),
  subnet_id   uuid NOT NULL REFERENCES subnets (id),
  instance_id uuid REFERENCES instances (id) ON DELETE CASCADE,
  mac         macaddr NOT NULL UNIQUE,
  ip          inet NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (subnet_id, ip)
);
CREATE INDEX ports_instance_idx ON ports (instance_id);
CREATE INDEX ports_network_idx ON ports (network_id);

-- Nova's instance actions and their events: what was asked, by whom, and what each step did.
CREATE TABLE instance_actions (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  instance_id uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  action      text NOT NULL,
  request_id  text NOT NULL,
  user_id     uuid,
  project_id  uuid,
  message     text,
  started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz
);
CREATE INDEX instance_actions_instance_idx ON instance_actions (instance_id, started_at);
CREATE UNIQUE INDEX instance_actions_request_key ON instance_actions (instance_id, request_id, action);

CREATE TABLE instance_action_events (
  id          bigserial PRIMARY KEY,
  action_id   uuid NOT NULL REFERENCES instance_actions (id) ON DELETE CASCADE,
  event       text NOT NULL,
  host        text,
  result      text CHECK (result IN ('Success', 'Error')),
  details     text,
  started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz
);
CREATE INDEX instance_action_events_action_idx ON instance_action_events (action_id);

CREATE TABLE instance_faults (
  id          bigserial PRIMARY KEY,
  instance_id uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  code        integer NOT NULL,
  message     text NOT NULL,
  details     text,
  host        text,
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX instance_faults_instance_idx ON instance_faults (instance_id, created_at DESC);

-- Placement: one provider per compute host, its inventory per resource class, and allocations per consumer.
-- `used` is kept beside each inventory so that candidates are one indexed read; claims change it only
-- together with the provider's generation.
CREATE TABLE resource_providers (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL UNIQUE,
  generation integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE inventories (
  provider_id      uuid NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,
  resource_class   text NOT NULL CHECK (resource_class IN ('VCPU', 'MEMORY_MB', 'DISK_GB')),
  total            integer NOT NULL CHECK (total >= 0),
  reserved         integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  min_unit         integer NOT NULL DEFAULT 1 CHECK (min_unit >= 1),
  max_unit         integer NOT NULL CHECK (max_unit >= 1),
  step_size        integer NOT NULL DEFAULT 1 CHECK (step_size >= 1),
  allocation_ratio real NOT NULL DEFAULT 1.0 CHECK (allocation_ratio > 0),
  used             integer NOT NULL DEFAULT 0 CHECK (used >= 0),
  PRIMARY KEY (provider_id, resource_class)
);

CREATE TABLE allocations (
  consumer_id    uuid NOT NULL,
  provider_id    uuid NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,
  resource_class text NOT NULL,
  used           integer NOT NULL CHECK (used > 0),
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_id, provider_id, resource_class)
);
CREATE INDEX allocations_provider_idx ON allocations (provider_id);

-- What each compute host last reported: its hypervisor, capabilities and running instances.
CREATE TABLE compute_nodes (
  host            text PRIMARY KEY,
  provider_id     uuid NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,
  hypervisor_type text NOT NULL,
  capabilities    jsonb NOT NULL DEFAULT '{}',
  running_vms     integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Per-project limits that differ from the defaults (settings); usage is counted from instances and key pairs.
CREATE TABLE quotas (
  project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  resource    text NOT NULL CHECK (resource IN ('instances', 'cores', 'ramMb', 'keypairs')),
  hard_limit  integer NOT NULL CHECK (hard_limit >= -1),
  PRIMARY KEY (project_id, resource)
);

-- Reports from hosts already applied, so that a job delivered twice changes nothing the second time.
CREATE TABLE applied_reports (
  key        text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
