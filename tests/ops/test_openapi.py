"""The OpenAPI document: built without a single warning, every operation id unique."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

from bontrack.app import create_app
from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database


def test_every_operation_id_is_unique_and_the_schema_builds_without_warnings(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns "Duplicate Operation ID"
        app = create_app(url, database=Database(engine))
        schema = app.openapi()
    ids = [op["operationId"] for item in schema["paths"].values()
           for method, op in item.items() if method in
           ("get", "post", "put", "patch", "delete", "head", "options")]
    assert len(ids) > 40
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    for path in ("/fhir/$export", "/fhir/Patient/$export"):
        assert set(schema["paths"][path]) == {"get", "post"}
    engine.dispose()
