-- Runs once, when the postgres container initialises an empty data volume
-- (files in /docker-entrypoint-initdb.d are executed by psql as POSTGRES_USER).
-- Tollgate keeps its tables in their own database; Temporal's auto-setup
-- creates its own `temporal` and `temporal_visibility` databases next to it.
-- \gexec keeps this idempotent (e.g. if POSTGRES_DB is set to tollgate).
SELECT 'CREATE DATABASE tollgate'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tollgate')\gexec
