"""Recall and the next visit (issue 17 item 4) in Debian's Chromium through Playwright,
against the shared demo server: a clinician reads the recall list and books a patient's
next visit on the earliest safe date offered; the patient sees it on their own page and
downloads it as an iCalendar file."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.axe import serious_violations
from tests.web.conftest import HAVE_CHROMIUM, shot, sign_in

if not HAVE_CHROMIUM:
    pytestmark = pytest.mark.skip(reason="Debian chromium is not installed (.ci/run installs it)")


def test_clinician_books_the_next_visit_and_the_patient_downloads_it(site, browser):
    srv, pw = site
    patient = browser.new_context().new_page()
    sign_in(patient, srv, "patient1", pw["patient1"])
    patient.wait_for_url("**/patients/*")
    own = int(patient.url.rsplit("/", 1)[1])
    expect(patient.locator("#next-visit")).to_contain_text("none booked")

    doc = browser.new_context(viewport={"width": 1200, "height": 900},
                              bypass_csp=True).new_page()  # axe runs as an inline script
    sign_in(doc, srv, "dr.lee", pw["dr.lee"])
    doc.wait_for_url("**/patients")
    doc.get_by_role("link", name="Recall").click()
    doc.wait_for_url("**/recall")
    expect(doc.locator("table.recall tbody tr").first).to_be_visible()
    assert doc.locator("table.recall td.muted").first.inner_text().strip() != ""
    assert serious_violations(doc) == []
    shot(doc, "recall-list")
    doc.goto(f"{srv.base}/patients/{own}/next-visit")
    offered = doc.get_by_label("Day", exact=True).input_value()
    doc.get_by_label("Note (shown to the patient)").fill("Bring your splint")
    doc.get_by_role("button", name="Book").click()
    expect(doc.locator("#next-visit")).to_contain_text(offered)
    assert serious_violations(doc) == []
    shot(doc, "next-visit-booked")

    patient.reload()
    expect(patient.locator("#next-visit")).to_contain_text(offered)
    with patient.expect_download() as info:
        patient.get_by_role("link", name="add to calendar").click()
    body = Path(info.value.path()).read_bytes()
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"DTSTART;VALUE=DATE:" + offered.replace("-", "").encode() in body
    assert b"Bring your splint" in body
    patient.context.close()
    doc.context.close()
