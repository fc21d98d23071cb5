"""Issue 6, item 5: parallel clients editing the same records through two real server
processes (on one database) get 412 for stale versions and never lose an update: every
client increments a counter kept in the record with read-modify-write under If-Match, and
the final counter equals the number of 2xx answers. No answer is a 5xx and none mentions
"database is locked".

    PYTHONPATH=src pytest -s tests/reliability/test_concurrent_edits.py
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from tests.api.conftest import seed, uls_cycle
from tests.reliability.harness import ServerProcess

CLIENTS = 12
ROUNDS = 12  # read-modify-write attempts per client and record kind


def number(text: str) -> int:
    found = re.search(r"(\d+)$", text)
    return int(found.group(1)) if found else 0


# Each kind: (path to read, path to change, method, body from the record read)
KINDS: dict[str, tuple[str, str, str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "patient": ("/api/v1/patients/{id}", "/api/v1/patients/{id}", "PATCH",
                lambda rec: {"display_name": f"Counter {number(rec['display_name']) + 1}"}),
    "cycle draft": ("/api/v1/cycles/{id}", "/api/v1/cycles/{id}", "PUT",
                    lambda rec: {**uls_cycle(date="2026-02-02"), "version": rec["version"],
                                 "reason": "concurrency test",
                                 "note": f"count {number(rec['note']) + 1}"}),
}


def test_parallel_read_modify_write_never_loses_an_update(db_url, tmp_path):
    ids = seed(db_url)
    servers = [ServerProcess(db_url, tmp_path / f"server{k}.log") for k in range(2)]
    for srv in servers:
        srv.start()
    try:
        h = servers[0].token("doc")
        with httpx.Client(base_url=servers[0].base, headers=h, timeout=30) as c:
            r = c.patch(f"/api/v1/patients/{ids['p1']}", json={"display_name": "Counter 0"},
                        headers={"If-Match": '"1"'})
            assert r.status_code == 200, r.text
            r = c.post(f"/api/v1/patients/{ids['p1']}/cycles",
                       json={**uls_cycle(date="2026-02-02"), "note": "count 0"})
            assert r.status_code == 201, r.text
            cycle_id = r.json()["id"]
            r = c.post(f"/api/v1/patients/{ids['p1']}/goals",
                       json={"description": "Hold a cup", "weight": 1})
            assert r.status_code == 201, r.text
            goal_id = r.json()["id"]
        targets = {"patient": ids["p1"], "cycle draft": cycle_id}
        start_versions = {}
        with httpx.Client(base_url=servers[0].base, headers=h, timeout=30) as c:
            for kind, (read, *_rest) in KINDS.items():
                start_versions[kind] = c.get(read.format(id=targets[kind])).json()["version"]
        answers: dict[str, Counter[int]] = {kind: Counter() for kind in [*KINDS, "goal"]}
        bad: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(CLIENTS)

        def client(k: int) -> None:
            srv = servers[k % 2]
            with httpx.Client(base_url=srv.base, headers=h, timeout=60) as c:
                barrier.wait()
                for j in range(ROUNDS):
                    for kind, (read, change, method, make) in KINDS.items():
                        path = read.format(id=targets[kind])
                        got = c.get(path)
                        if got.status_code != 200:
                            with lock:
                                bad.append(f"GET {kind}: {got.status_code} {got.text[:200]}")
                            continue
                        r = c.request(method, change.format(id=targets[kind]),
                                      json=make(got.json()),
                                      headers={"If-Match": got.headers["etag"]})
                        with lock:
                            answers[kind][r.status_code] += 1
                            if r.status_code >= 500 or "locked" in r.text.lower():
                                bad.append(f"{method} {kind}: {r.status_code} {r.text[:200]}")
                    g = c.get(f"/api/v1/patients/{ids['p1']}/goals")
                    if g.status_code != 200:
                        with lock:
                            bad.append(f"GET goals: {g.status_code} {g.text[:300]}")
                        continue
                    goal = next(x for x in g.json()["items"] if x["id"] == goal_id)
                    r = c.post(f"/api/v1/goals/{goal_id}/score",
                               json={"attainment": (k + j) % 5 - 2},
                               headers={"If-Match": f'"{goal["version"]}"'})
                    with lock:
                        answers["goal"][r.status_code] += 1
                        if r.status_code >= 500 or "locked" in r.text.lower():
                            bad.append(f"score goal: {r.status_code} {r.text[:200]}")

        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - t0
        with httpx.Client(base_url=servers[1].base, headers=h, timeout=30) as c:
            patient = c.get(f"/api/v1/patients/{ids['p1']}").json()
            cycle = c.get(f"/api/v1/cycles/{cycle_id}").json()
            goal = next(x for x in c.get(f"/api/v1/patients/{ids['p1']}/goals").json()["items"]
                        if x["id"] == goal_id)
    finally:
        for srv in servers:
            srv.stop()
    logs = "".join(srv.tail(100_000) for srv in servers)
    kind_name = db_url.split(":")[0].split("+")[0]
    final = {"patient": (number(patient["display_name"]), patient["version"]),
             "cycle draft": (number(cycle["note"]), cycle["version"])}
    print(f"\n[{kind_name}] {CLIENTS} clients x {ROUNDS} rounds on 2 server processes, "
          f"{took:.1f} s")
    for kind, counts in answers.items():
        ok = counts[200]
        value = final[kind][0] if kind in final else goal["version"] - 1
        print(f"[{kind_name}] {kind:<12} attempts {sum(counts.values()):4}  2xx {ok:4}  "
              f"412 {counts[412]:4}  409 {counts[409]:3}  other "
              f"{sum(counts.values()) - ok - counts[412] - counts[409]:3}  final counter "
              f"{value:4}  lost updates {ok - value}")
    assert not bad, bad[:5]
    assert "locked" not in logs.lower() and "Traceback" not in logs, logs[-3000:]
    for kind, counts in answers.items():
        assert set(counts) <= {200, 409, 412}, (kind, counts)
        assert counts[200] >= 1 and counts[412] >= 1, (kind, counts)
    for kind, (value, version) in final.items():
        ok = answers[kind][200]
        assert value == ok, f"{kind}: {ok} updates answered 2xx, counter shows {value}"
        assert version == start_versions[kind] + ok, kind
    assert goal["version"] == 1 + answers["goal"][200]
