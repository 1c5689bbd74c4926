"""The load generator and the meters of scripts/bench-paths: wrk runs, CPU layouts, and the CPU each
process of the stack spends per request, read from /proc.

A layout pins every process of the stack (and each wrk it starts) to a set of CPUs with taskset, on
the running processes, so one stack, warmed once, is measured in every layout in the same run.
"""

import argparse
import json
import os
import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path

WRK_SCRIPT = Path(__file__).with_name("wrk-request.lua")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Layout:
    """Which CPUs the emulators (DynamoDB Local, moto) and the rest (runtime, wrk) run on."""

    name: str
    emulators: str
    rest: str


def layouts(cpus: int) -> list[Layout]:
    every = f"0-{cpus - 1}" if cpus > 1 else "0"
    found = [Layout("every process on every CPU", every, every)]
    if cpus >= 2:
        half = cpus // 2
        emulators = "0" if half == 1 else f"0-{half - 1}"
        rest = str(half) if half == cpus - 1 else f"{half}-{cpus - 1}"
        found.append(Layout(f"split: emulators on CPU {emulators}, runtime and wrk on {rest}", emulators, rest))
    return found


class Stack:
    """The stack's processes by role (`runtime`, `dynamodb`, `moto`), pinned as a layout says."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.layout: Layout | None = None

    def pin(self, layout: Layout):
        for role, pid in self.pids.items():
            cpus = layout.rest if role == "runtime" else layout.emulators
            # -a: every thread the process has now (the JVM's and tokio's workers included).
            subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True, capture_output=True)
        self.layout = layout

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each process has spent so far; `wrk`: every finished child."""
        spent = {role: _process_cpu(pid) for role, pid in self.pids.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent["wrk"] = children.ru_utime + children.ru_stime
        return spent


def stack_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with the options scripts/bench-* give every benchmark: where the stack is, and
    its processes by role."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--api", required=True)
    parser.add_argument("--dynamodb", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--pids", required=True, help="role=pid,... of runtime, dynamodb and moto")
    return parser


def stack_of(args) -> Stack:
    return Stack({role: int(pid) for role, pid in (p.split("=") for p in args.pids.split(","))})


def _process_cpu(pid: int) -> float:
    # Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def measured(stack: Stack, command: list, marker: str, env=None) -> tuple[dict, dict]:
    """Runs a load generator on the layout's non-emulator CPUs; answers the JSON it printed after
    `marker` and the CPU seconds each process of the stack spent meanwhile."""
    pin = ["taskset", "-c", stack.layout.rest] if stack.layout else []
    before = stack.cpu_seconds()
    out = subprocess.run([*pin, *command], env=env, capture_output=True, text=True, check=True)
    after = stack.cpu_seconds()
    line = next(line for line in out.stdout.splitlines() if line.startswith(marker))
    return json.loads(line[len(marker):]), {role: after[role] - before[role] for role in after}


def per_unit(spent: dict, units: float) -> dict:
    return {role: 1000 * seconds / max(units, 1) for role, seconds in spent.items()}


def wrk(stack: Stack, url: str, seconds: int, connections: int, *, method="GET", path="/", headers="",
        body=None, steps=None, run="r", ordered=False, thread_values=None) -> dict:
    """One wrk run, with the CPU each process spent per unit of work (a request, or a round of
    `steps`: DynamoDB calls or API requests made in turn). `ordered`: each connection is its
    thread's only one, so that a round's steps go in order on it. `thread_values`: "{{t}}" in
    `headers` becomes one of them per thread."""
    threads = connections if ordered else min(2, connections)
    env = dict(os.environ, WRK_METHOD=method, WRK_PATH=path, WRK_HEADERS=headers, WRK_RUN=run,
               WRK_THREADS=str(threads), WRK_THREAD_VALUES="\n".join(thread_values or []))
    if body is not None:
        env["WRK_BODY_FILE"] = str(_scratch("wrk-body.json", json.dumps(body)))
    if steps:
        text = "\n--step--\n".join(f"{operation}\n{json.dumps(call)}" for operation, call in steps)
        env["WRK_STEPS_FILE"] = str(_scratch("wrk-steps.txt", text))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(WRK_SCRIPT), url]
    result, spent = measured(stack, command, "WRK_JSON ", env)
    units = (result["requests"] - result["non2xx"]) / (len(steps) if steps else 1)
    result["units"] = units
    result["ok_per_s"] = units / (result["duration_us"] / 1e6)
    result["cpu_ms_per_unit"] = per_unit(spent, units)
    return result


def fixed_rate(stack: Stack, load_binary: str, url: str, rate: float, seconds: int, *, method="GET",
               headers="", body=None) -> dict:
    """An open-model run (cartwheel-load): `rate` requests a second whatever the latency, each
    latency counted from when its request was due, so queueing shows (no coordinated omission)."""
    command = [load_binary, url, "--rate", f"{rate:.1f}", "--seconds", str(seconds), "--method", method]
    for line in filter(None, headers.splitlines()):
        command += ["--header", line]
    if body is not None:
        command += ["--body-file", str(_scratch("load-body.json", json.dumps(body)))]
    result, spent = measured(stack, command, "LOAD_JSON ")
    result["cpu_ms_per_unit"] = per_unit(spent, result["ok"])
    return result


def sdk_floor(stack: Stack, binary: str, path: str, seconds: int, product: str, order: str) -> dict:
    """The path's DynamoDB calls (`get` or `orders`) through the official SDK alone, 16 at a time,
    in a process of its own (infra/local-runtime/examples/sdk_floor.rs), with no warm-up of its
    own: the caller has just warmed DynamoDB Local on the same path. "sdk_ms" is that process's
    CPU per request (the floor under the runtime's), "cpu_ms_per_unit" the stack's."""
    env = dict(os.environ, PRODUCT_ID=product, ORDER_ID=order)
    result, spent = measured(stack, [binary, path, str(seconds), "0"], "FLOOR_JSON ", env)
    return {"ok_per_s": result["per_s"], "sdk_ms": result["cpu_ms"],
            "cpu_ms_per_unit": per_unit(spent, result["done"])}


def _scratch(name: str, text: str) -> Path:
    """A file of this process's own in TMPDIR, holding `text`."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{os.getpid()}-{name}"
    path.write_text(text)
    return path


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
