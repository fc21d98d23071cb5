"""`bontrack worker`: a process that runs queued jobs (Bulk Data exports) from the database,
beside or instead of the server's own worker thread (docs/scaling.md)."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from bontrack.cli.store_commands import DbOpt, _safe, open_store
from bontrack.config import export_directory, read_database_url
from bontrack.fhir.bulk import Jobs, Runner
from bontrack.reference import default_reference
from bontrack.store.replica import read_from


def worker(
    once: Annotated[bool, typer.Option(
        "--once", help="Run the jobs due now, then exit (for cron or a test).")] = False,
    poll: Annotated[float, typer.Option(
        min=0.1, max=60, help="Seconds between looks at the job table when idle.")] = 1.0,
    db: DbOpt = None,
) -> None:
    """Run queued jobs (Bulk Data exports) until stopped (SIGTERM or Ctrl-C).

    Any number of workers, on any machine that reaches the database and the shared export
    folder (BONTRACK_EXPORT_DIR), may run beside the servers: each job is claimed by one.
    A worker stopped mid-job leaves it to be claimed again when its lease runs out.
    """
    url, database = open_store(db)
    replica = read_database_url()
    if replica is not None:
        read_from(database, replica)  # the exports read the replica
    jobs = Jobs(export_directory(), database, default_reference(), run_here=False)
    runner = Runner(jobs, poll=poll)
    try:
        if once:
            while jobs.run_once(runner.worker) is not None:
                pass
            return
        typer.echo(f"bontrack worker {runner.worker} on {_safe(url)}; exports in "
                   f"{jobs.root}")

        def _stop(_sig: int, _frame: object) -> None:
            runner.stop.set()
            runner.wake.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        runner.run()  # in this thread: the signal handlers stop it between jobs
    finally:
        database.dispose()
