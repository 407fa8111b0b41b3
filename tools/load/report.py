"""The end report: ratios to the baselines and figures per core, as JSON (report.json), as a chart of
throughput and latency over time (chart.png), and as the tables printed at the end of a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tools.load.baselines import BASELINES

SERVICE_GROUPS = ("identity", "itinerary", "status", "verification", "platform", "gateway")
_SCENARIO_ORDER = ("IssueCode", "VerifyCode", "GetStatus", "RecordCheckIn", "GetVenueCode", "RecordVisit",
                   "IngestCarrierStays", "DeclareRiskArea")


def _platform_cpu(cpu: dict) -> float:
    return sum(cpu.get(name, 0.0) for name in SERVICE_GROUPS) + cpu.get("postgres", 0.0)


def _costs(cpu: dict, calls: int, seconds: float, per_second: float) -> dict:
    """Cores used and CPU per call of the platform (services + Postgres) and of this client."""
    platform = _platform_cpu(cpu)
    cores = os.cpu_count() or 1
    costs = {"platform_cores": platform / seconds, "client_cores": cpu.get("client", 0.0) / seconds,
             "other_cores": cpu.get("others", 0.0) / seconds, "per_machine_core": per_second / cores}
    if platform > 0:
        costs["per_platform_core"] = per_second / (platform / seconds)
    if calls:
        costs["platform_us_per_call"] = platform / calls * 1e6
        costs["client_us_per_call"] = cpu.get("client", 0.0) / calls * 1e6
    return costs


def add_ratios(result: dict) -> None:
    """Fills in, for every figure, its ratio to its baseline, and the cores it used."""
    found = result.get("baselines", {})
    echo = found.get("grpc_echo")
    if echo:
        echo["costs"] = _costs({"platform": echo["cpu_seconds"].get("echo", 0.0), **{
            k: v for k, v in echo["cpu_seconds"].items() if k in ("client", "others")}},
            echo["calls"], echo["seconds"], echo["per_second"])
    for entry in result.get("isolated", []):
        segment_calls = sum(e["calls"] for e in result["isolated"] if e["operation"] == entry["operation"])
        entry["costs"] = _costs(entry["cpu_seconds"], segment_calls, entry["seconds"],
                                sum(e["per_second"] for e in result["isolated"]
                                    if e["operation"] == entry["operation"]))
        entry["ratios"] = _ratios(entry, BASELINES.get(entry["rpc"], ("grpc_echo",)), found)
    scenario = result.get("scenario")
    if scenario:
        calls = sum(r["calls"] for r in scenario["rpcs"].values())
        scenario["costs"] = _costs(scenario["cpu_seconds"], calls, scenario["seconds"], calls / scenario["seconds"])
        for rpc, summary in scenario["rpcs"].items():
            summary["ratios"] = _ratios(summary, ("grpc_echo",), found, throughput=False)


def _ratios(entry: dict, names: tuple[str, ...], found: dict, *, throughput: bool = True) -> dict:
    ratios = {}
    for name in names:
        baseline = found.get(name)
        if not baseline:
            continue
        if throughput:
            ratios[f"per_second_vs_{name}"] = entry["per_second"] / baseline["per_second"]
        if name != "es256_verify" and baseline.get("latency_ms") and entry.get("latency_ms"):
            ratios[f"p50_vs_{name}"] = entry["latency_ms"]["p50"] / baseline["latency_ms"]["p50"]
    return ratios


def write(result: dict, out: Path, *, chart: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    if chart and result.get("scenario"):
        draw_chart(result, out / "chart.png")


def draw_chart(result: dict, path: Path) -> None:
    """Three panels over the run's seconds: calls completed per RPC (and the target), p50 and p99 of all
    calls and per RPC (log scale), calls in flight and errors; the phases shaded, the declaration marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    scenario = result["scenario"]
    series = scenario["timeline"]
    seconds = [s["second"] + 0.5 for s in series]
    rpcs = [rpc for rpc in _SCENARIO_ORDER if rpc in scenario["rpcs"]] + sorted(
        rpc for rpc in scenario["rpcs"] if rpc not in _SCENARIO_ORDER)
    figure, (rate, latency, load) = pyplot.subplots(3, 1, figsize=(12, 10), sharex=True,
                                                    gridspec_kw={"height_ratios": [3, 3, 2]})
    colours = pyplot.get_cmap("tab10")
    for n, rpc in enumerate(rpcs):
        rate.plot(seconds, [s["rpcs"].get(rpc, {}).get("calls", 0) for s in series], label=rpc,
                  color=colours(n % 10), linewidth=1, drawstyle="steps-mid")
        points = [(x, s["rpcs"][rpc]["p99_ms"]) for x, s in zip(seconds, series) if rpc in s["rpcs"]]
        if points:
            latency.plot(*zip(*points), color=colours(n % 10), linewidth=0.8, alpha=0.7, label=f"{rpc} p99")
    rate.plot(seconds, [s["rpcs"].get("all", {}).get("calls", 0) for s in series], color="black", linewidth=1.5,
              label="all", drawstyle="steps-mid")
    if scenario["mode"] == "open":
        rate.plot(seconds, [s.get("target_per_second", float("nan")) for s in series], color="black",
                  linestyle="--", linewidth=1, label="target arrivals", drawstyle="steps-mid")
    everything = [(x, s["rpcs"]["all"]) for x, s in zip(seconds, series) if s["rpcs"].get("all", {}).get("calls")]
    if everything:
        latency.plot([x for x, _ in everything], [a["p50_ms"] for _, a in everything], color="black",
                     linewidth=1.5, label="all p50")
        latency.plot([x for x, _ in everything], [a["p99_ms"] for _, a in everything], color="black",
                     linestyle="--", linewidth=1.5, label="all p99")
    latency.set_yscale("log")
    load.plot(seconds, [s.get("in_flight", 0) for s in series], color="tab:blue", label="calls in flight",
              drawstyle="steps-mid")
    load.plot(seconds, [s["rpcs"].get("all", {}).get("errors", 0) for s in series], color="tab:red",
              label="errors", drawstyle="steps-mid")
    shades = {"declared": "#fff3cd", "surge": "#f8d7da", "recovery": "#d1e7dd"}
    for axis in (rate, latency, load):
        for phase in scenario["phases"]:
            end = next((p["start_s"] for p in scenario["phases"] if p["start_s"] > phase["start_s"]),
                       scenario["duration"])
            if phase["name"] in shades:
                axis.axvspan(phase["start_s"], end, color=shades[phase["name"]], alpha=0.6, linewidth=0)
        declared = scenario.get("declaration", {}).get("declared_at_s")
        if declared is not None:
            axis.axvline(declared, color="darkorange", linewidth=1)
        done = scenario.get("declaration", {}).get("recompute_done_at_s")
        if done is not None:
            axis.axvline(done, color="darkorange", linewidth=1, linestyle=":")
        axis.grid(alpha=0.3)
    how = (f"open loop, {scenario['rate']:g}/s" if scenario["mode"] == "open"
           else f"closed loop, {scenario['concurrency']} callers")
    rate.set_title(f"healthcode load {result['run_id']}: {how}; phases shaded (declared, surge, recovery); "
                   "orange: risk declaration, dotted: its recomputation done", fontsize=9)
    rate.set_ylabel("calls completed per second")
    latency.set_ylabel("latency, ms (log)")
    load.set_ylabel("in flight / errors per second")
    load.set_xlabel("seconds since the start of the rush")
    rate.legend(fontsize=7, ncol=3, loc="upper left")
    latency.legend(fontsize=6, ncol=4, loc="upper left")
    load.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def _ms(summary: dict, key: str) -> str:
    value = summary.get("latency_ms", {}).get(key)
    return "" if value is None else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _row(cells: list[str], widths: list[int]) -> str:
    return cells[0].ljust(widths[0]) + "".join(cell.rjust(width) for cell, width in zip(cells[1:], widths[1:]))


def text(result: dict) -> list[str]:
    """The tables printed at the end of a run."""
    lines = [""]
    machine = result["machine"]
    lines.append(f"machine: {machine['cores']} cores, {machine['cpu']}, {machine['system']}, "
                 f"Python {machine['python']}")
    found = result.get("baselines", {})
    if found:
        lines.append("baselines (same machine, same run):")
        echo = found.get("grpc_echo")
        if echo:
            lines.append(f"  grpc_echo       {echo['per_second']:9.0f}/s  p50 {_ms(echo, 'p50')} ms  p99 "
                         f"{_ms(echo, 'p99')} ms  ({echo['concurrency']} in flight; server "
                         f"{echo['costs']['platform_cores']:.2f} cores, client {echo['costs']['client_cores']:.2f})")
        if "asyncpg_lookup" in found:
            lookup = found["asyncpg_lookup"]
            lines.append(f"  asyncpg_lookup  {lookup['per_second']:9.0f}/s  p50 {_ms(lookup, 'p50')} ms  "
                         f"({lookup['connections']} held connections, prepared primary-key SELECT)")
        if "es256_verify" in found:
            lines.append(f"  es256_verify    {found['es256_verify']['per_second']:9.0f}/s  "
                         f"({found['es256_verify']['us_each']:.0f} µs each, one core)")
    isolated = result.get("isolated", [])
    if isolated:
        widths = [20, 9, 8, 8, 8, 9, 9, 18, 9, 9, 8, 8]
        lines.append("")
        lines.append(f"each path alone, closed loop ({isolated[0]['concurrency']} in flight; IngestCarrierStays "
                     "fewer), ratios to the baselines:")
        lines.append(_row(["rpc", "per s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "× echo", "× other baseline",
                           "/pf core", "/mc core", "pf µs", "cl µs"], widths))
        for entry in isolated:
            ratios, costs = entry.get("ratios", {}), entry.get("costs", {})
            other = next(((k.removeprefix("per_second_vs_"), v) for k, v in ratios.items()
                          if k.startswith("per_second_vs_") and k != "per_second_vs_grpc_echo"), None)
            rate = f"{entry['per_second']:.0f}" + (f" ({entry['rows_per_second']:.0f} rows)"
                                                   if entry.get("rows") else "")
            lines.append(_row([entry["rpc"], rate, _ms(entry, "p50"), _ms(entry, "p90"), _ms(entry, "p99"),
                               _ms(entry, "p99.9"), f"{ratios.get('per_second_vs_grpc_echo', 0):.3f}",
                               f"{other[1]:.3f} {other[0].split('_')[0]}" if other else "",
                               f"{costs.get('per_platform_core', 0):.0f}", f"{costs.get('per_machine_core', 0):.0f}",
                               f"{costs.get('platform_us_per_call', 0):.0f}",
                               f"{costs.get('client_us_per_call', 0):.0f}"], widths))
            if entry.get("errors"):
                lines.append(f"    errors: {entry['errors']}")
        lines.append("  (× echo: calls/s over the echo server's; × other: over ES256 verifies/s on one core or raw "
                     "asyncpg lookups/s; /pf core: calls/s per core the platform (services + Postgres) used; "
                     "/mc core: per core of the machine; pf µs, cl µs: CPU per call of the platform and of this "
                     "client; GetVenueCode and RecordVisit share one segment)")
    scenario = result.get("scenario")
    if scenario:
        widths = [20, 8, 8, 8, 8, 8, 9, 9, 9, 30]
        how = (f"open loop, {scenario['rate']:g} arrivals/s (latency from the intended send time)"
               if scenario["mode"] == "open" else f"closed loop, {scenario['concurrency']} callers")
        lines.append("")
        lines.append(f"morning rush: {how}, {scenario['seconds']:.0f} s, phases "
                     + ", ".join(f"{p['name']} from {p['start_s']:g} s (×{p['factor']:g})" for p in scenario["phases"]))
        lines.append(_row(["rpc", "calls", "per s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms",
                           "p50×echo", "errors"], widths))
        for rpc in [r for r in _SCENARIO_ORDER if r in scenario["rpcs"]]:
            summary = scenario["rpcs"][rpc]
            lines.append(_row([rpc, str(summary["calls"]), f"{summary['per_second']:.1f}", _ms(summary, "p50"),
                               _ms(summary, "p90"), _ms(summary, "p99"), _ms(summary, "p99.9"), _ms(summary, "max"),
                               f"{summary.get('ratios', {}).get('p50_vs_grpc_echo', 0):.1f}",
                               ", ".join(f"{k} {v}" for k, v in summary["errors"].items()) or "-"], widths))
        lines.append("  p99 by phase (ms): " + "; ".join(
            f"{phase} " + ", ".join(f"{rpc} {_ms(s, 'p99')}" for rpc, s in data["rpcs"].items())
            for phase, data in scenario["per_phase"].items()))
        verdicts = scenario["rpcs"].get("VerifyCode", {}).get("outcomes")
        if verdicts:
            lines.append("  VerifyCode decisions: " + ", ".join(f"{k} {v}" for k, v in verdicts.items()))
        declaration = scenario.get("declaration") or {}
        if declaration.get("declaration_id"):
            recompute = (f"recomputed {declaration.get('persons_done', 0)} persons "
                         f"({declaration.get('persons_changed', 0)} changed) in "
                         f"{declaration['recompute_seconds']:.1f} s" if "recompute_seconds" in declaration
                         else f"recomputation {declaration.get('recompute_state', 'not started')}, "
                              f"{declaration.get('persons_done', 0)} persons so far")
            lines.append(f"  risk declaration: {declaration['area_code']} HIGH at {declaration['declared_at_s']:.0f} s "
                         f"({'raised' if declaration.get('raised') else 'no raise'}); {recompute}")
        costs = scenario.get("costs", {})
        lines.append(f"  cores used: platform {costs.get('platform_cores', 0):.2f}, this client "
                     f"{costs.get('client_cores', 0):.2f} ({costs.get('client_us_per_call', 0):.0f} µs per call), "
                     f"others {costs.get('other_cores', 0):.2f}, of {machine['cores']}")
    return lines
