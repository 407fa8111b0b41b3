"""The load harness: a synthetic population by COPY, a morning-rush workload over gRPC, baselines, a report.

`healthcode load` (tools.load.cli) is the command; `harness.run(options)` is the whole run. The
population (population.py) writes the rows the services themselves would have written; the workload
(workload.py) reaches the platform only through the channels of client.py.
"""
