"""The database: engine and sessions, models, SQL that differs between SQLite and PostgreSQL (sql),
plain SQL for the worker's hot path (raw), the audit trail, and the schema's migrations (migrations/)."""
