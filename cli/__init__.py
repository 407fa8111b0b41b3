"""The `healthcode` command: the composition root, the one place that imports every service and
the gateway (`up`, each service alone, the admin commands)."""
