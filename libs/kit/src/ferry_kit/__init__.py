"""Ferry's service kit: settings, broker, Postgres, migrations, outbox, inbox, telemetry."""
