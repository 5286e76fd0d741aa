"""wrk, the HTTP load generator: the Lua scripts we hand it and the summary we read back from it.

wrk's own text report is made for people; every script we generate ends in a ``done()`` that prints one
``BENCH_JSON {...}`` line (requests, latency percentiles, errors, and the answers the script counted),
and ``run_wrk`` parses that line alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field

from knobs import CONNECTIONS, DURATION, THREADS, WRK

# Appended to every script: numbers the threads (request functions use ``thread_index`` to take disjoint
# shares of rotating inputs), sums the per-thread ``answers`` tables and prints the summary line.
_SUMMARY_LUA = r"""
local __threads = {}
function setup(thread)
  thread:set("thread_index", #__threads)
  table.insert(__threads, thread)
end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(__threads) do
    local c = t:get("answers")
    if c then for k, v in pairs(c) do counts[k] = (counts[k] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format("%q:%d", k, v)) end
  io.write(string.format(
    "BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d," ..
    "\"max_us\":%d,\"status_errors\":%d,\"connect_errors\":%d,\"read_errors\":%d,\"write_errors\":%d," ..
    "\"timeouts\":%d,\"answers\":{%s}}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout, table.concat(parts, ",")))
end
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for our ASCII values


def lua_script(
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    extra: str = "",
) -> str:
    """A wrk script: fixed method/headers/body, optional request/response functions, a JSON summary."""
    lines = [f"wrk.method = {lua_string(method)}"]
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    return "\n".join(lines) + "\n" + extra + "\n" + _SUMMARY_LUA


def bearer_script(token: str, method: str = "GET") -> str:
    return lua_script(method, {"Authorization": f"Bearer {token}"})


def xff_lua(per_thread: int = 65536) -> str:
    """wrk Lua: ``client_ip()``, a distinct X-Forwarded-For per request (threads take disjoint ranges) in
    RFC 2544's 198.18.0.0/15, the same range as ``clients.bench_ip``."""
    return f"""
local n = 0
local function client_ip()
  n = n + 1
  local k = (thread_index or 0) * {per_thread} + n
  k = k % 131072
  return string.format("198.%d.%d.%d", 18 + math.floor(k / 65536), math.floor(k / 256) % 256, k % 256)
end
"""


def rotating_body_lua(bodies: list[str], path: str, xff: bool = False) -> str:
    """wrk Lua: POST the bodies in turn (threads start at different offsets), counting the answers."""
    table = ",\n".join(lua_string(body) for body in bodies)
    return (
        (xff_lua() if xff else "")
        + f"""
local bodies = {{
{table}
}}
local i = nil
answers = {{}}
request = function()
  if i == nil then i = (thread_index or 0) * math.floor(#bodies / 2) end
  i = i % #bodies + 1
  local headers = {{["Content-Type"] = "application/json"}}
  {'headers["X-Forwarded-For"] = client_ip()' if xff else ""}
  return wrk.format("POST", {lua_string(path)}, headers, bodies[i])
end
response = function(status, headers, body)
  local code = body:match('"error"%s*:%s*"([%w_]+)"')
  if code == nil then
    if body:find('"token"', 1, true) then code = "token" else code = "status_" .. status end
  end
  answers[code] = (answers[code] or 0) + 1
end
"""
    )


# ---------------------------------------------------------------------------------------------------
# Running it


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    status_errors: int  # responses with status >= 400
    socket_errors: int
    answers: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    url: str,
    script: str,
    duration: float = DURATION,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
    timeout_s: int = 5,
) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    try:
        command = [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration:g}s",
            f"--timeout={timeout_s}s",
            "--latency",
            "-s",
            script_path,
            url,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script_path)
    summary = parse_summary(result.stdout)
    if summary is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return summary


def parse_summary(stdout: str) -> WrkResult | None:
    """The ``BENCH_JSON`` line our ``done()`` printed, or None when wrk did not get that far."""
    match = re.search(r"^BENCH_JSON (.*)$", stdout, re.MULTILINE)
    if not match:
        return None
    data = json.loads(match.group(1))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        status_errors=data["status_errors"],
        socket_errors=sum(data[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")),
        answers=data["answers"],
    )
