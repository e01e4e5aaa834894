"""Storage: engines and sessions, migrations, the schema guard and backups."""
