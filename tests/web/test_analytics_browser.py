"""Analytics in a real browser: the patient's response section, the clinic dashboard with
its filters, chart downloads (SVG, PNG, CSV) and the PDF reports, with the axe check."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.conftest import CHROMIUM, shot, sign_in

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium (.ci/run installs it)")
    pytestmark = pytest.mark.skip(reason="Debian chromium is not installed (.ci/run installs it)")


def pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


def patient_with_three_cycles(page, srv) -> str:
    page.goto(f"{srv.base}/patients?q=DEMO-000005")  # three cycles
    page.locator("tbody a").first.click()
    page.wait_for_url("**/patients/*")
    return page.url.rsplit("/", 1)[1]


def test_patient_page_shows_response_per_cycle_with_charts_and_downloads(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    pid = patient_with_three_cycles(page, srv)
    expect(page.get_by_role("heading", name="Response to treatment")).to_be_visible()
    # demo cycles end in 2026: the window is either still ahead or flagged as overdue,
    # never a past date offered as "suggested"
    content = page.content()
    assert ("Suggested window for the next cycle" in content
            or "Overdue: the suggested window ended on" in content)
    table = page.locator("table", has=page.locator("caption", has_text="Response per cycle"))
    assert table.first.locator("tbody tr").count() >= 3
    chart = page.locator("img[src*='/analytics/response.svg']").first
    chart.scroll_into_view_if_needed()
    expect(chart).to_have_js_property("complete", True)
    assert chart.evaluate("i => i.naturalWidth") > 0
    shot(page, "patient-analytics")
    r = page.request.get(f"{srv.base}/patients/{pid}/analytics/response.csv?series_no=0")
    rows = list(csv.reader(io.StringIO(r.text())))
    assert r.ok and rows[0][:3] == ["cycle_date", "product", "total_units"]
    assert len(rows) >= 4
    r = page.request.get(f"{srv.base}/patients/{pid}/analytics/dose.png")
    assert r.ok and r.body()[:8] == b"\x89PNG\r\n\x1a\n"
    outcome = page.locator("figure.chart img[src*='chart.svg']").first.get_attribute("src")
    r = page.request.get(f"{srv.base}{outcome.replace('chart.svg', 'chart.png')}")
    assert r.ok and r.body()[:4] == b"\x89PNG"
    r = page.request.get(f"{srv.base}{outcome.replace('chart.svg', 'chart.csv')}")
    assert r.ok and r.text().startswith("when,kind,scale,site,value")
    assert ",injection," in r.text() and ",outcome," in r.text()
    r = page.request.get(f"{srv.base}/patients/{pid}/report.pdf")
    assert r.ok and r.headers["content-type"] == "application/pdf"
    text = pdf_text(r.body())
    for words in ("What was injected", "How it went", "Your next visit",
                  "When to get help at once", "Trouble swallowing"):
        assert words in text
    page.locator("section h3 a").first.click()
    page.wait_for_url("**/cycles/*")
    link = page.get_by_role("link", name="Download the cycle summary (PDF)")
    r = page.request.get(f"{srv.base}{link.get_attribute('href')}")
    assert r.ok and "Cycle summary" in pdf_text(r.body())


def test_clinic_dashboard_filters_and_downloads(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    page.get_by_role("link", name="Clinic dashboard").click()
    page.wait_for_url("**/clinic/dashboard")
    expect(page.get_by_role("heading", name="Responders")).to_be_visible()
    everything = page.locator("main > p").first.inner_text()
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**product=onabotulinumtoxinA**")
    assert "product onabotulinumtoxinA" in page.locator("main > p").first.inner_text()
    assert page.locator("main > p").first.inner_text() != everything
    for img in page.locator("figure.chart img").all():
        img.scroll_into_view_if_needed()
        expect(img).to_have_js_property("complete", True)
        assert img.evaluate("i => i.naturalWidth") > 0
    shot(page, "clinic-dashboard")
    r = page.request.get(f"{srv.base}/clinic/dashboard/side-effects.csv"
                         "?product=onabotulinumtoxinA")
    header = next(csv.reader(io.StringIO(r.text())))
    assert header[:3] == ["indication", "product", "term"] and "label_percent" in header
    r = page.request.get(f"{srv.base}/clinic/dashboard/waste.svg")
    assert r.ok and r.text().startswith("<svg")
    r = page.request.get(f"{srv.base}/clinic/report.pdf?from=2020-01-01&to=2030-12-31")
    text = pdf_text(r.body())
    assert "Clinic report" in text and "Side effects per 100 cycles" in text
    assert "from 2020-01-01, to 2030-12-31" in text


def test_bad_filter_shows_an_error_naming_the_field(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    response = page.goto(f"{srv.base}/clinic/dashboard?from=2026-02-30")
    assert response.status == 422
    assert page.get_by_role("alert").inner_text().startswith("from: must be a date")
    response = page.goto(f"{srv.base}/clinic/report.pdf?indication=toothache")
    assert response.status == 422 and "indication" in page.content()


def test_patients_and_nurses_cannot_open_the_dashboard(site, page):
    srv, pw = site
    sign_in(page, srv, "patient1", pw["patient1"])
    page.wait_for_url("**/patients/*")
    assert page.get_by_role("link", name="Clinic dashboard").count() == 0
    response = page.goto(f"{srv.base}/clinic/dashboard")
    assert response.status == 403
    response = page.goto(f"{srv.base}/clinic/dashboard/waste.csv")
    assert response.status == 403


@pytest.mark.parametrize("who", ["dr.lee", "patient1"])
def test_analytics_pages_have_no_serious_accessibility_violations(site, browser, who):
    from tests.web.axe import serious_violations

    srv, pw = site
    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, srv, who, pw[who])
    page.wait_for_url("**/patients**")
    if who == "dr.lee":
        pid = patient_with_three_cycles(page, srv)
        paths = ["/clinic/dashboard", "/clinic/dashboard?product=onabotulinumtoxinA",
                 "/clinic/dashboard?from=bad", f"/patients/{pid}"]
    else:
        paths = [page.url.removeprefix(srv.base)]
    problems = {}
    for path in paths:
        page.goto(f"{srv.base}{path}")
        problems[path] = serious_violations(page)
    assert not {k: v for k, v in problems.items() if v}, problems
