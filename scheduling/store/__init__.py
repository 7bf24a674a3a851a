"""The database: engine and sessions, models, SQL that differs between SQLite and PostgreSQL,
the audit trail, and the schema's migrations (migrations/)."""
