-- Resizes (Nova's migrations table). A resize stays on the server's host; while it is in progress or waits
-- for confirmation, the old flavor's placement allocation is held by the migration's id as its consumer, and
-- the instance's own id holds the new flavor's. Confirm frees the first; revert frees the second and gives
-- the first back to the instance.
CREATE TABLE migrations (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  instance_id    uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  migration_type text NOT NULL DEFAULT 'resize' CHECK (migration_type IN ('resize')),
  source_host    text NOT NULL,
  dest_host      text NOT NULL,
  old_flavor     jsonb NOT NULL,
  new_flavor     jsonb NOT NULL,
  -- Where confirm and revert take the server back to: a stopped server stays stopped.
  old_vm_state   text NOT NULL CHECK (old_vm_state IN ('active', 'stopped')),
  status         text NOT NULL CHECK (status IN ('migrating', 'finished', 'reverting', 'confirmed', 'reverted', 'error')),
  error          text,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX migrations_instance_idx ON migrations (instance_id, created_at DESC);
-- At most one resize of a server is open at a time.
CREATE UNIQUE INDEX migrations_open_key ON migrations (instance_id) WHERE status IN ('migrating', 'finished', 'reverting');
