-- Tenant networking, Neutron's model on OVN: external (provider) networks, ports as objects of their own
-- (instances', routers', floating IPs' and the metadata port of each network), routers, floating IPs, and
-- security groups with their rules. Postgres holds the model; OVN's northbound database is derived from it.

ALTER TABLE networks
  -- router:external: floating IPs and router gateways come from it.
  ADD COLUMN external          boolean NOT NULL DEFAULT false,
  -- provider:physical_network: the host bridge mapping it is on (OVN localnet); NULL is an overlay (Geneve) network.
  ADD COLUMN physical_network  text,
  ADD COLUMN mtu               integer NOT NULL DEFAULT 1442 CHECK (mtu BETWEEN 576 AND 9000),
  ADD COLUMN admin_state_up    boolean NOT NULL DEFAULT true,
  ADD COLUMN description       text NOT NULL DEFAULT '';

-- The launcher's `public` network is the provider network of each host's external bridge.
UPDATE networks SET external = true, physical_network = 'public', mtu = 1500
 WHERE name = 'public' AND project_id IS NULL AND shared;

ALTER TABLE subnets
  -- [{ "destination": "10.1.0.0/24", "nexthop": "10.0.0.5" }]
  ADD COLUMN host_routes jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();

CREATE TABLE routers (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id          uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  name                text NOT NULL,
  description         text NOT NULL DEFAULT '',
  admin_state_up      boolean NOT NULL DEFAULT true,
  -- external_gateway_info: the external network its gateway port is on (the port itself is in ports).
  external_network_id uuid REFERENCES networks (id),
  enable_snat         boolean NOT NULL DEFAULT true,
  -- [{ "destination": "10.2.0.0/24", "nexthop": "10.0.0.9" }]
  routes              jsonb NOT NULL DEFAULT '[]',
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routers_project_idx ON routers (project_id, created_at);

ALTER TABLE ports
  ADD COLUMN project_id            uuid REFERENCES projects (id) ON DELETE CASCADE,
  ADD COLUMN name                  text NOT NULL DEFAULT '',
  -- Neutron's device_owner: compute:<zone> (an instance's), network:router_interface, network:router_gateway,
  -- network:floatingip (the address a floating IP holds), network:distributed (the network's metadata port),
  -- or '' (a port made on its own, not yet attached).
  ADD COLUMN device_owner          text NOT NULL DEFAULT '',
  ADD COLUMN device_id             text NOT NULL DEFAULT '',
  -- A router's ports go with it (deleting one with interfaces is refused before).
  ADD COLUMN router_id             uuid REFERENCES routers (id) ON DELETE CASCADE,
  ADD COLUMN port_security_enabled boolean NOT NULL DEFAULT true,
  -- [{ "ip_address": "10.0.0.50" or "10.0.0.0/24", "mac_address": "fa:16:3e:…" }]
  ADD COLUMN allowed_address_pairs jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN admin_state_up        boolean NOT NULL DEFAULT true,
  -- ACTIVE once OVN has bound the port on a chassis (or, for router and floating IP ports, once written).
  ADD COLUMN status                text NOT NULL DEFAULT 'DOWN' CHECK (status IN ('DOWN', 'BUILD', 'ACTIVE', 'ERROR')),
  -- binding:host_id: the host the port is plugged on.
  ADD COLUMN host                  text,
  ADD COLUMN updated_at            timestamptz NOT NULL DEFAULT now();

UPDATE ports p SET device_owner = 'compute:nova', device_id = p.instance_id::text, project_id = i.project_id
  FROM instances i WHERE i.id = p.instance_id;
CREATE INDEX ports_project_idx ON ports (project_id);
CREATE INDEX ports_router_idx ON ports (router_id) WHERE router_id IS NOT NULL;
-- One metadata port per network.
CREATE UNIQUE INDEX ports_metadata_key ON ports (network_id) WHERE device_owner = 'network:distributed';

CREATE TABLE security_groups (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  stateful    boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX security_groups_project_idx ON security_groups (project_id, created_at);
-- Every project has exactly one `default`, made with the project (or on first use).
CREATE UNIQUE INDEX security_groups_default_key ON security_groups (project_id) WHERE name = 'default';

CREATE TABLE security_group_rules (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  security_group_id uuid NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE,
  project_id        uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  direction         text NOT NULL CHECK (direction IN ('ingress', 'egress')),
  ethertype         text NOT NULL DEFAULT 'IPv4' CHECK (ethertype IN ('IPv4', 'IPv6')),
  -- NULL is any protocol; else tcp, udp, icmp or an IP protocol number as text.
  protocol          text,
  port_range_min    integer CHECK (port_range_min BETWEEN 0 AND 65535),
  port_range_max    integer CHECK (port_range_max BETWEEN 0 AND 65535),
  remote_ip_prefix  cidr,
  remote_group_id   uuid REFERENCES security_groups (id) ON DELETE CASCADE,
  description       text NOT NULL DEFAULT '',
  created_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (port_range_min IS NULL OR port_range_max IS NULL OR port_range_min <= port_range_max),
  CHECK (remote_ip_prefix IS NULL OR remote_group_id IS NULL)
);
CREATE INDEX security_group_rules_group_idx ON security_group_rules (security_group_id);
CREATE INDEX security_group_rules_remote_idx ON security_group_rules (remote_group_id) WHERE remote_group_id IS NOT NULL;

-- A group in use by a port cannot be deleted (no cascade from the group).
CREATE TABLE port_security_groups (
  port_id           uuid NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
  security_group_id uuid NOT NULL REFERENCES security_groups (id),
  PRIMARY KEY (port_id, security_group_id)
);
CREATE INDEX port_security_groups_group_idx ON port_security_groups (security_group_id);

CREATE TABLE floating_ips (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id          uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  floating_network_id uuid NOT NULL REFERENCES networks (id),
  -- The port on the external subnet that holds the address (device_owner network:floatingip).
  floating_port_id    uuid NOT NULL UNIQUE REFERENCES ports (id),
  floating_ip         inet NOT NULL,
  -- Associated: the port it forwards to, the address on it, and the router that does the NAT.
  port_id             uuid REFERENCES ports (id) ON DELETE SET NULL,
  fixed_ip            inet,
  router_id           uuid REFERENCES routers (id),
  description         text NOT NULL DEFAULT '',
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (floating_network_id, floating_ip)
);
CREATE INDEX floating_ips_project_idx ON floating_ips (project_id, created_at);
CREATE UNIQUE INDEX floating_ips_port_key ON floating_ips (port_id) WHERE port_id IS NOT NULL;

ALTER TABLE quotas DROP CONSTRAINT quotas_resource_check;
ALTER TABLE quotas ADD CONSTRAINT quotas_resource_check
  CHECK (resource IN ('instances', 'cores', 'ramMb', 'keypairs', 'serverGroups', 'serverGroupMembers',
                      'networks', 'subnets', 'ports', 'routers', 'floatingIps', 'securityGroups', 'securityGroupRules'));

-- This cloud's identity: several clouds may share one machine's OVN, and each touches only the rows it tagged.
CREATE TABLE cloud_identity (
  id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  one boolean NOT NULL UNIQUE DEFAULT true CHECK (one)
);
INSERT INTO cloud_identity DEFAULT VALUES;
