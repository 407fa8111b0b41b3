"""The health-code microservices and their shared runtime."""
