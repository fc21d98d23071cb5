"""Long reads from a replica: Bulk Data exports, reports and analytics read through
``Database.reading()``; with BONTRACK_READ_DATABASE_URL set (a PostgreSQL streaming replica,
or any copy that follows the primary) those reads go there and the primary keeps its
connections and I/O for the requests that write (docs/scaling.md).

A replica lags the primary by a little (usually well under a second): an export started
just after a write may not hold that write. Everything that must see its own writes (every
request, the audit chain, the job table) stays on the primary.
"""

from __future__ import annotations

from bontrack.store.db import make_engine
from bontrack.store.uow import Database


def read_from(db: Database, url: str) -> None:
    """Send ``db``'s long reads (``reading()``) to the database at ``url``; the requests'
    reads (``snapshot()``) stay on the primary."""
    db.use_replica(make_engine(url))
