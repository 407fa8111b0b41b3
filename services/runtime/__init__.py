"""The runtime every service shares: settings, logs, database, errors, server bootstrap."""
