-- Services: every role of every process registers here and heartbeats (Nova's services table), so operators
-- see which schedulers, conductors and API workers are up, and can take one out of service with a reason.

CREATE TABLE services (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  host            text NOT NULL,
  binary_name     text NOT NULL CHECK (binary_name ~ '^aster-[a-z-]+$'),
  disabled        boolean NOT NULL DEFAULT false,
  disabled_reason text,
  last_seen_at    timestamptz,
  stopped_at      timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (host, binary_name)
);
