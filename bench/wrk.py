"""wrk, a load generator written in C, driving a bontrack server with a generated Lua script.

Why: bench/scaling.py's Python clients (httpx on asyncio) spent about 1.7 ms of CPU on each
request they sent, as much as the server spent answering it (measured on PostgreSQL, 16
clients, 2026-12-07). On a two-core machine the load generator then takes a core the second
server worker needs, so "2 workers against 1" measured the generator. wrk sends the same
requests for a few microseconds each. Install it with ``apt-get install wrk``; without it the
benches fall back to their Python clients and say so.

Scripts:
- ``timeline_script``: GET the timeline of each seeded patient in turn (``paths_script``:
  any paths, e.g. bench/api.py's bare endpoint);
- ``mixed_script``: bench/load.py's mix (its ``MIX`` weights and request bodies): patient
  list, timeline, plan check, cycle write, outcome write, /health. Writes go to the writer
  patients in turn, each patient's cycles 90 days apart, so that two requests in flight
  never write the same patient's consecutive cycles.

``run`` returns requests per second, the count of requests and of errors (anything but
2xx/3xx, or a broken connection), and the p50 / p95 latency in milliseconds.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

import load

#: The writer patients' cycles: the first on this day, then every 90 days.
FIRST_CYCLE = (1971, 1, 4)
#: Cycles per writer patient (about 25 years at 90 days).
CYCLES_PER_PATIENT = 100


@dataclass(frozen=True)
class Result:
    rate: float
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a valid Lua string literal here (ASCII)


_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_RESULT %d %d %.3f %.3f\\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
local reported = false
response = function(status, headers, body)
  if status >= 300 and not reported then
    reported = true
    io.write("WRK_FIRST_ERROR " .. status .. " " .. string.sub(body or "", 1, 200) .. "\\n")
  end
end
"""


def _headers(headers: dict[str, str]) -> str:
    lines = [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    return "\n".join([*lines, 'wrk.headers["Content-Type"] = "application/json"'])


def timeline_script(headers: dict[str, str], seeded: list[int]) -> str:
    return paths_script(headers, [f"/api/v1/patients/{p}/timeline" for p in seeded])


def paths_script(headers: dict[str, str], paths: list[str]) -> str:
    """GET each of ``paths`` in turn, with ``headers``."""
    listed = ", ".join(_lua_string(path) for path in paths)
    return f"""{_headers(headers)}
local paths = {{{listed}}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
{_DONE}"""


def mixed_script(headers: dict[str, str], seeded: list[int], writers: list[int]) -> str:
    cycle = json.dumps(load.cycle_body(date(2000, 1, 1))).replace("2000-01-01", "DAY")
    outcome = json.dumps({"scale": "pain_nrs", "value": "4",
                          "measured_at": "2026-11-20T09:30:00Z"})
    timelines = ", ".join(_lua_string(f"/api/v1/patients/{p}/timeline") for p in seeded)
    ids = ", ".join(str(w) for w in writers)
    # one slot per unit of weight, in a fixed shuffled order (the same every run)
    kinds = {"patient list": "list", "timeline": "timeline", "plan check": "check",
             "cycle write": "cycle", "outcome write": "outcome", "health (baseline)": "health"}
    slots = [kinds[k] for k, w in load.MIX.items() for _ in range(w)]
    order = [slots[(7 * n) % len(slots)] for n in range(len(slots))]
    y, m, d = FIRST_CYCLE
    return f"""{_headers(headers)}
local timelines = {{{timelines}}}
local writers = {{{ids}}}
local order = {{{", ".join(_lua_string(k) for k in order)}}}
local plan = {_lua_string(json.dumps(load.PLAN))}
local cycle = {_lua_string(cycle)}
local outcome = {_lua_string(outcome)}
local first = os.time{{year={y}, month={m}, day={d}, hour=12}}
local n, t, c, o = 0, 0, 0, 0
request = function()
  n = n % #order + 1
  local kind = order[n]
  if kind == "list" then
    return wrk.format("GET", "/api/v1/patients?limit=50")
  elseif kind == "timeline" then
    t = t % #timelines + 1
    return wrk.format("GET", timelines[t])
  elseif kind == "check" then
    return wrk.format("POST", "/api/v1/plan-check", nil, plan)
  elseif kind == "cycle" then
    local who = c % #writers + 1
    local step = math.floor(c / #writers) % {CYCLES_PER_PATIENT}
    c = c + 1
    local day = os.date("!%Y-%m-%d", first + step * 90 * 86400)
    local body = string.gsub(cycle, "DAY", day)
    return wrk.format("POST", "/api/v1/patients/" .. writers[who] .. "/cycles", nil, body)
  elseif kind == "outcome" then
    o = o % #writers + 1
    return wrk.format("POST", "/api/v1/patients/" .. writers[o] .. "/outcomes", nil, outcome)
  end
  return wrk.format("GET", "/health")
end
{_DONE}"""


def writer_patients(base: str, headers: dict[str, str], count: int) -> list[int]:
    """Patients that the mixed script writes cycles and outcomes to."""
    ids = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        for k in range(count):
            r = c.post("/api/v1/patients", json=load.writer_patient(f"WRK-{k}"))
            r.raise_for_status()
            ids.append(r.json()["id"])
    return ids


def run(base: str, script: str, seconds: float, clients: int) -> Result:
    """wrk with one thread and ``clients`` keep-alive connections for ``seconds``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "load.lua"
        path.write_text(script)
        done = subprocess.run(
            ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "60s",
             "-s", str(path), base],
            capture_output=True, text=True, timeout=seconds + 120, check=False)
    found = re.search(r"WRK_RESULT (\d+) (\d+) ([\d.]+) ([\d.]+)", done.stdout)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if done.returncode != 0 or found is None or rate is None:
        raise RuntimeError(f"wrk failed (exit {done.returncode}): {done.stdout[-800:]}"
                           f"{done.stderr[-800:]}")
    first_error = re.search(r"WRK_FIRST_ERROR (.*)", done.stdout)
    if first_error:
        print(f"  first failed request: {first_error.group(1)[:200]}")
    return Result(rate=float(rate.group(1)), requests=int(found.group(1)),
                  errors=int(found.group(2)), p50_ms=float(found.group(3)),
                  p95_ms=float(found.group(4)))
