-- The security groups a server asked for (Nova's security_groups on create), given to its ports when they are
-- made at placement; ports made before this migration keep the groups they have (none).
ALTER TABLE instances ADD COLUMN security_groups uuid[] NOT NULL DEFAULT '{}';
