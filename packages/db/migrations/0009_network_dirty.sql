-- Ports are also written outside the networking API: the scheduler makes servers' ports as it places them and
-- the conductor frees them when servers go. Each such change wakes the network worker (channel aster_ovn_dirty,
-- delivered at commit), which then makes OVN match; the API's own changes also send it a syncNetworks job.
CREATE FUNCTION aster_ovn_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('aster_ovn_dirty', TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE TRIGGER ports_ovn_dirty AFTER INSERT OR DELETE ON ports
  FOR EACH STATEMENT EXECUTE FUNCTION aster_ovn_dirty();
CREATE TRIGGER ports_ovn_dirty_update AFTER UPDATE OF network_id, subnet_id, mac, ip, port_security_enabled, allowed_address_pairs, admin_state_up ON ports
  FOR EACH STATEMENT EXECUTE FUNCTION aster_ovn_dirty();
CREATE TRIGGER port_security_groups_ovn_dirty AFTER INSERT OR DELETE ON port_security_groups
  FOR EACH STATEMENT EXECUTE FUNCTION aster_ovn_dirty();
