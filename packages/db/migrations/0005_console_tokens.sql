-- Console tokens (Nova's console_auth_tokens). Only the SHA-256 of a token is kept. The target host and
-- port come from the compute host at issue time, never from a client.
CREATE TABLE console_tokens (
  token_hash     bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  instance_id    uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  console_type   text NOT NULL CHECK (console_type IN ('novnc', 'spice-html5', 'serial')),
  -- The compute host the console is on, and where on it the proxy connects.
  host           text NOT NULL,
  target_host    text NOT NULL,
  target_port    integer NOT NULL CHECK (target_port BETWEEN 1 AND 65535),
  user_id        uuid REFERENCES users (id) ON DELETE SET NULL,
  project_id     uuid NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at     timestamptz NOT NULL,
  -- Set when the guest stopped or restarted after the token was issued: its ports may now be another's.
  revoked_at     timestamptz,
  revoked_reason text
);
CREATE INDEX console_tokens_instance_idx ON console_tokens (instance_id);
CREATE INDEX console_tokens_expires_idx ON console_tokens (expires_at);

-- A token is good only for the run of the guest it was issued in: libvirt picks the console ports again
-- at each start, so a stop, a restart, a suspend or a rebuild revokes it. Deleted or moved instances lose
-- their tokens. One trigger covers every writer (api, conductor, sweeper).
CREATE FUNCTION console_tokens_follow_instance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.deleted_at IS NOT NULL OR NEW.host IS DISTINCT FROM OLD.host THEN
    DELETE FROM console_tokens WHERE instance_id = NEW.id;
  ELSIF NEW.power_state NOT IN (1, 3) AND OLD.power_state IN (1, 3) THEN
    UPDATE console_tokens SET revoked_at = clock_timestamp(), revoked_reason = 'the server stopped after it was issued'
     WHERE instance_id = NEW.id AND revoked_at IS NULL;
  ELSIF NEW.task_state IS DISTINCT FROM OLD.task_state AND NEW.task_state IN (
          'rebooting', 'rebooting_hard', 'reboot_started', 'reboot_started_hard', 'powering_off', 'powering_on',
          'suspending', 'resuming', 'rebuilding', 'rebuild_spawning', 'rescuing', 'unrescuing',
          'resize_prep', 'resize_migrating', 'resize_finish', 'resize_reverting', 'deleting') THEN
    UPDATE console_tokens SET revoked_at = clock_timestamp(), revoked_reason = 'the server was ' || CASE
             WHEN NEW.task_state LIKE 'reboot%' THEN 'rebooted'
             WHEN NEW.task_state LIKE 'resize%' THEN 'resized'
             WHEN NEW.task_state LIKE 'rebuild%' THEN 'rebuilt'
             WHEN NEW.task_state = 'rescuing' THEN 'rescued'
             WHEN NEW.task_state = 'unrescuing' THEN 'unrescued'
             WHEN NEW.task_state = 'suspending' THEN 'suspended'
             WHEN NEW.task_state = 'deleting' THEN 'deleted'
             ELSE 'stopped or started' END || ' after it was issued'
     WHERE instance_id = NEW.id AND revoked_at IS NULL;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER console_tokens_follow_instance
  AFTER UPDATE OF deleted_at, host, power_state, task_state ON instances
  FOR EACH ROW EXECUTE FUNCTION console_tokens_follow_instance();

-- What the console proxy reads, and all it can read (its role has SELECT on this view only): a token's
-- target and expiry, and the present state of its instance so a refusal can say why.
CREATE VIEW console_token_targets AS
  SELECT t.token_hash, t.console_type, t.host, t.target_host, t.target_port, t.expires_at, t.revoked_at, t.revoked_reason,
         t.instance_id, i.name AS instance_name, i.project_id, t.user_id, u.name AS user_name,
         i.vm_state, i.task_state, i.power_state, i.deleted_at IS NOT NULL AS instance_deleted
    FROM console_tokens t
    JOIN instances i ON i.id = t.instance_id
    LEFT JOIN users u ON u.id = t.user_id;
