"""The patient list page over the bounded search (issue 16): the count it shows, "N+" once
more patients match than are counted, and its Next link from the page's own "more"."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bontrack.app import create_app
from bontrack.services import patient_search
from tests.api.conftest import _template, copy_database
from tests.web.test_csrf_signed import sign_in


@pytest.fixture
def site(tmp_path_factory, tmp_path):
    template_url, _ids, _tokens = _template("sqlite", tmp_path_factory)
    url, drop = copy_database(template_url, "sqlite", tmp_path)
    app = create_app(url)
    yield app
    app.state.bontrack.db.dispose()
    drop()


def test_the_list_counts_and_pages(site, monkeypatch):
    with TestClient(site) as c:
        sign_in(c)
        page = c.get("/patients")
        assert page.status_code == 200 and "2 patients" in page.text
        assert "offset=" not in page.text  # one page: no Next
        assert "1 patient matching" in c.get("/patients?q=alex").text
        monkeypatch.setattr(patient_search, "COUNT_LIMIT", 1)
        monkeypatch.setattr("bontrack.web.pages.PAGE", 1)
        page = c.get("/patients")
        assert "1+ patients" in page.text and "offset=1" in page.text
