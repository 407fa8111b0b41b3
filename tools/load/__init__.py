"""The load harness: a synthetic population by COPY, a morning-rush workload over gRPC, baselines, a report.

`healthcode load` (tools.load.cli) is the command; `harness.run(options)` is the whole run. The
population (population.py) writes the rows the services themselves would have written; the workload
(workload.py) reaches the platform only through the channels of client.py.

It is also the one measurement library the benchmarks (tools.benchmarks) use: cpu.py (CpuMeter, the
machine and commit line), echo.py and baselines.py (echo server, raw asyncpg, raw ES256), measure.py
(closed loops, `Measured`), processes.py (servers in their own processes) and table.py. Nothing here
imports a benchmark.
"""
