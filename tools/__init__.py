"""What is not a service: the load harness, the benchmarks on top of it, the code generator.

Tools may import the services and the gateway; nothing in services/ imports tools."""
