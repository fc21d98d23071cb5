"""Issue 16, item 8: a long read (a clinic PDF, a bulk export) never holds up the timeline.

Proved by structure, not by timing: a reading unit of work, like the report's, stays open
with its snapshot taken and its own audit event recorded, while another thread's timeline
GET and a write both complete. Under the old global lock (PostgreSQL's advisory lock taken by
the report's audit event, SQLite's write lock taken by the same insert) the GET waited
for the report to end, and the thread below would still be waiting when the guard expires.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from bontrack.services import audit
from tests.api.conftest import Api


def in_thread(call: Any) -> Any:
    """Run ``call`` in another thread; its answer, or None if it is still waiting after the
    guard (which only keeps a broken build from hanging the suite)."""
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    worker.start()
    worker.join(timeout=60)
    return out[0] if out else None


def test_a_timeline_get_and_a_write_complete_while_a_long_read_is_open(api: Api):
    db = api.client.app.state.bontrack.db  # type: ignore[attr-defined]
    p1 = api.ids["p1"]
    with db.reading() as report:
        # the report's first batch: its snapshot is taken and its read is audited
        report.session.execute(sa.text("SELECT count(*) FROM patients")).scalar()
        audit.record(report.session, None, "read", "report", detail="clinic report")
        got = in_thread(lambda: api.get("doc", f"/api/v1/patients/{p1}/timeline"))
        assert got is not None, "the timeline GET waited for the long read"
        assert got.status_code == 200, got.text
        wrote = in_thread(lambda: api.post("doc", f"/api/v1/patients/{p1}/weights",
                                           json={"weight_kg": 71,
                                                 "measured_on": "2026-01-05"}))
        assert wrote is not None, "a write waited for the long read"
        assert wrote.status_code == 201, wrote.text
        assert report.is_open  # the long read is still going on
        report.commit()  # its audit event, through the audit writer, before this returns
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        reports = c.execute(sa.text("SELECT count(*) FROM audit_events "
                                    "WHERE entity = 'report'")).scalar()
    engine.dispose()
    assert reports == 1
