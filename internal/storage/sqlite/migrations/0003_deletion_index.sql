-- Secrets scheduled for deletion, by the time their recovery window ends:
-- the purge finds the expired ones without scanning every secret.
CREATE INDEX secrets_by_deletion ON secrets (deletion_ms) WHERE deletion_ms > 0;
