-- Identity: projects, users, role assignments, tokens, application credentials, login throttling.

CREATE TABLE projects (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX projects_name_key ON projects (lower(name));
-- The admin project: role admin on it makes a cloud administrator (Keystone's admin project).
ALTER TABLE projects ADD COLUMN is_admin boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX projects_one_admin ON projects (is_admin) WHERE is_admin;

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name          text NOT NULL,
  password_hash text NOT NULL,
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_name_key ON users (lower(name));

CREATE TABLE role_assignments (
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('admin', 'member', 'reader')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, project_id, role)
);
CREATE INDEX role_assignments_project_idx ON role_assignments (project_id);

CREATE TABLE app_credentials (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  role        text NOT NULL CHECK (role IN ('admin', 'member', 'reader')),
  secret_hash bytea NOT NULL,
  expires_at  timestamptz,
  revoked_at  timestamptz,
  last_used_at timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX app_credentials_name_key ON app_credentials (user_id, lower(name)) WHERE revoked_at IS NULL;

CREATE TABLE tokens (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash        bytea NOT NULL UNIQUE,
  user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  project_id        uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  app_credential_id uuid REFERENCES app_credentials (id) ON DELETE CASCADE,
  issued_at         timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  revoked_at        timestamptz
);
CREATE INDEX tokens_user_idx ON tokens (user_id);
CREATE INDEX tokens_expires_idx ON tokens (expires_at);

-- Keyed by the name typed at login (lower-cased), whether or not such a user exists,
-- so throttling never tells an attacker which names are real.
CREATE TABLE login_throttle (
  username        text PRIMARY KEY,
  failures        integer NOT NULL DEFAULT 0,
  last_failure_at timestamptz NOT NULL,
  locked_until    timestamptz
);
