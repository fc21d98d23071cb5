"""The web pages in a real browser: Debian's Chromium driven by Playwright, against a real
server process on a demo database. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from bontrack.services import accounts
from tests.web.conftest import CHROMIUM, HAVE_CHROMIUM, shot, sign_in

__all__ = ["CHROMIUM", "open_patient", "open_plan", "shot", "sign_in"]

if not HAVE_CHROMIUM:
    pytestmark = pytest.mark.skip(reason="Debian chromium is not installed (.ci/run installs it)")


def test_clinician_signs_in_finds_a_patient_and_sees_timeline_and_charts(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    assert page.get_by_role("heading", name="Patients").is_visible()
    shot(page, "patients")
    # DEMO-000005 of seed 21 has three cycles (demo patients have two or three)
    page.get_by_label("Search by MRN or name").fill("DEMO-000005")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)  # waits for the search's page, not the list before it
    rows.locator("a").click()
    page.wait_for_url(re.compile(r"/patients/\d+$"))
    expect(page.locator("body")).to_contain_text("Next cycle no earlier than")
    assert page.locator("figure.chart img").count() >= 1
    chart = page.locator("figure.chart img").first
    chart.scroll_into_view_if_needed()
    expect(chart).to_have_js_property("complete", True)
    assert chart.evaluate("i => i.naturalWidth") > 0
    assert chart.get_attribute("alt").startswith("Chart:")
    assert page.locator("section h3").count() >= 3  # cycles with their injections
    shot(page, "patient")


def test_wrong_password_is_refused_with_a_message(site, page):
    srv, _ = site
    sign_in(page, srv, "nurse.kim", "not the password")
    assert page.get_by_role("alert").inner_text() == accounts.FAILED


def test_patient_sees_only_their_own_record(site, page):
    srv, pw = site
    sign_in(page, srv, "patient1", pw["patient1"])
    page.wait_for_url("**/patients/*")
    own = page.url
    assert page.get_by_role("link", name="My record").is_visible()
    shot(page, "patient-portal")
    other_id = int(own.rsplit("/", 1)[1]) + 1
    response = page.goto(f"{srv.base}/patients/{other_id}")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    response = page.goto(f"{srv.base}/patients")
    assert page.url == own  # the patient list is not for patients


def test_sign_out_ends_the_session(site, page):
    srv, pw = site
    sign_in(page, srv, "nurse.kim", pw["nurse.kim"])
    page.wait_for_url("**/patients")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto(f"{srv.base}/patients")
    assert page.url.endswith("/login")


def test_session_cookie_is_httponly_and_samesite_strict(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.okafor", pw["dr.okafor"])
    page.wait_for_url("**/patients")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["bt_session"]["httpOnly"] and cookies["bt_session"]["sameSite"] == "Strict"


def test_forms_without_the_csrf_token_are_refused(site):
    srv, pw = site
    r = httpx.post(f"{srv.base}/login", data={"username": "dr.lee",
                                              "password": pw["dr.lee"], "csrf": "forged"})
    assert r.status_code == 403 and "form expired" in r.text


def test_phone_width_page_is_readable(site, browser):
    srv, pw = site
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380  # no horizontal scrolling on a phone
    shot(page, "patients-phone")
    context.close()


def open_plan(page, srv, mrn: str) -> None:
    """The planner, emptied (it starts from the last cycle given)."""
    page.goto(f"{srv.base}/patients?q={mrn}")
    page.locator("tbody a").first.click()
    page.get_by_role("link", name="Plan a cycle").click()
    page.wait_for_url("**/cycles/new")
    page.get_by_role("link", name="Start from an empty plan").click()
    page.wait_for_url("**/cycles/new?copy=none")


def test_plan_on_the_body_map_override_a_stop_record_and_sign(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    open_plan(page, srv, "DEMO-000003")
    page.get_by_label("Indication").select_option("upper_limb_spasticity")
    page.get_by_role("button", name="Biceps brachii, left").click()
    page.get_by_label("Units 0").fill("250")
    page.get_by_label("Sites 0").fill("4")
    page.locator("#verdict").wait_for()
    expect(page.locator("#verdict")).to_have_text("stop")
    stop = page.locator("li.finding.stop").first
    code = stop.get_attribute("data-code")
    # the finding is shown next to the injection it concerns (in words, its code in the
    # tooltip), with its limit and source
    row_badge = page.locator(f"#injections .row-findings .badge[data-code='{code}']")
    assert row_badge.count() == 1 and code in row_badge.get_attribute("title")
    assert "limit" in stop.inner_text() and "Source:" in stop.inner_text()
    assert page.locator("#per-tenth").count() == 1
    shot(page, "plan-stop")

    page.get_by_role("button", name="Record the cycle").click()
    assert page.get_by_role("alert").inner_text().startswith("Stop findings need")
    page.locator(f"#override-{code}").fill(
        "Severe elbow flexor spasticity; dose agreed at the MDT; patient informed")
    for extra in page.locator("li.finding.stop textarea").all():
        if not extra.input_value():
            extra.fill("Reviewed and accepted by the injecting clinician, see note")
    page.get_by_role("button", name="Record the cycle").click()
    page.wait_for_url(re.compile(r"/cycles/\d+$"))  # "/cycles/new" would match a glob
    assert "draft" in page.content()
    assert "Severe elbow flexor spasticity" in page.content()
    with page.expect_navigation():  # signing comes back to the same address
        page.get_by_role("button", name="Sign and lock").click()
    expect(page.locator("h1")).to_have_text(re.compile(r"signed$"))
    shot(page, "cycle-signed")
    page.get_by_role("link", name="Print view").click()
    page.wait_for_url("**/print")  # content() while the link navigates gives ''
    expect(page.locator("body")).to_contain_text("Botulinum toxin treatment record")
    shot(page, "cycle-print")


def test_nurse_can_plan_but_cannot_sign(site, page):
    srv, pw = site
    sign_in(page, srv, "nurse.kim", pw["nurse.kim"])
    page.wait_for_url("**/patients")
    open_plan(page, srv, "DEMO-000004")
    page.get_by_label("Indication").select_option("cervical_dystonia")
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    page.get_by_role("button", name="Splenius capitis, right").click()
    page.get_by_label("Units 0").fill("40")
    page.get_by_label("Sites 0").fill("2")
    page.get_by_label("Date").fill("2027-06-01")
    expect(page.locator("#verdict")).to_be_attached()
    page.get_by_role("button", name="Record the cycle").click()
    page.wait_for_url(re.compile(r"/cycles/\d+$"))
    assert page.get_by_role("button", name="Sign and lock").count() == 0
    assert "A clinician signs this cycle" in page.content()
    cycle_url = page.url
    # a forged sign request from the nurse's session is refused
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "bt_csrf")
    response = page.request.post(f"{cycle_url}/sign", form={"csrf": csrf, "version": "1"})
    assert response.status == 403


def test_planner_starts_from_the_last_cycle_given_and_checks_it_on_load(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    page.goto(f"{srv.base}/patients?q=DEMO-000005")
    page.locator("tbody a").first.click()
    page.get_by_role("link", name="Plan a cycle").click()
    page.wait_for_url("**/cycles/new")
    assert page.locator("#injections tbody tr").count() >= 1
    assert page.locator("select[name=muscle]").first.input_value() != ""
    assert page.locator("input[name=units]").first.input_value() != ""
    assert page.locator("#started").inner_text().startswith("Started from the cycle given on")
    # the check has run without anything typed: a verdict and the preparation are shown
    expect(page.locator("#verdict")).to_be_visible()
    assert page.locator("#check .prep").count() == 1
    shot(page, "plan-prefilled")


def open_patient(page, srv, mrn: str) -> None:
    page.goto(f"{srv.base}/patients?q={mrn}")
    page.locator("tbody a").first.click()
    page.wait_for_url("**/patients/*")


def test_nurse_records_a_modified_ashworth_score_with_the_scales_own_values(site, page):
    srv, pw = site
    sign_in(page, srv, "nurse.kim", pw["nurse.kim"])
    page.wait_for_url("**/patients")
    open_patient(page, srv, "DEMO-000002")
    page.get_by_role("link", name="Record an outcome").click()
    options = page.locator("#value option").all_inner_texts()
    assert options == ["— choose —", "0", "1", "1+", "2", "3", "4"]  # nothing chosen for you
    assert page.locator("#value").input_value() == ""
    page.get_by_label("Value").select_option("1+")
    page.get_by_label("Muscle (optional)").select_option("biceps_brachii")
    page.get_by_label("Side (optional)").select_option("left")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/patients/*")
    assert "1+" in page.locator("main").inner_text()
    shot(page, "outcome-recorded")


def test_goals_are_scored_and_the_t_score_computed(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    open_patient(page, srv, "DEMO-000006")
    page.get_by_role("link", name="Goals").click()
    page.get_by_label("New goal").fill("Open the hand to hold a cup")
    page.get_by_role("button", name="Add goal").click()
    form = page.locator("form.card", has_text="Open the hand to hold a cup")
    # an unscored goal shows no level chosen for the clinician (it showed -2 before)
    assert form.get_by_label("Attainment").input_value() == ""
    form.get_by_label("Attainment").select_option("2")
    form.get_by_role("button", name="Save score").click()
    t = page.locator("#t-score").inner_text()
    assert t != "" and float(t) > 50
    shot(page, "goals")


def test_patient_reports_a_red_flag_and_the_clinic_sees_it_first(site, browser):
    srv, pw = site
    patient = browser.new_context().new_page()
    sign_in(patient, srv, "patient1", pw["patient1"])
    patient.wait_for_url("**/patients/*")
    patient.get_by_role("link", name="Report a side effect").click()
    patient.get_by_label("What happened?").fill("Trouble swallowing since yesterday")
    patient.get_by_label("How bad is it?").select_option("moderate")
    patient.get_by_role("button", name="Send").click()
    alert = patient.get_by_role("alert")
    assert "Seek urgent care now" in alert.inner_text()
    shot(patient, "urgent-care")
    patient.context.close()

    staff = browser.new_context().new_page()
    sign_in(staff, srv, "dr.lee", pw["dr.lee"])
    staff.wait_for_url("**/patients")
    staff.get_by_role("link", name="Side effects").click()
    first = staff.locator("tbody tr").first
    assert "Trouble swallowing since yesterday" in first.inner_text()
    assert "URGENT" in first.inner_text()
    shot(staff, "clinic-side-effects")
    staff.context.close()


def test_patient_keeps_a_diary_and_reads_the_leaflet(site, page):
    srv, pw = site
    sign_in(page, srv, "patient1", pw["patient1"])
    page.wait_for_url("**/patients/*")
    page.get_by_role("link", name="Diary").click()
    page.get_by_label("Pain (0 none … 10 worst)").select_option("3")
    page.get_by_label("Note").fill("Arm looser this week")
    page.get_by_role("button", name="Save").click()
    assert "Arm looser this week" in page.locator("tbody").inner_text()
    page.get_by_role("link", name="My record").click()
    page.get_by_role("link", name="About this treatment").click()
    text = page.locator("article").inner_text()
    for heading in ("What it is", "How it works", "What to expect, and when", "Side effects",
                    "When to get help at once"):
        assert heading in text
    assert page.get_by_role("button", name="Print this leaflet").count() == 1
    shot(page, "leaflet")


def test_staff_cannot_write_a_patients_diary(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    open_patient(page, srv, "DEMO-000001")
    page.get_by_role("link", name="Diary").click()
    assert page.get_by_role("button", name="Save").count() == 0


@pytest.mark.parametrize("who", ["dr.lee", "patient1"])
def test_no_serious_or_critical_accessibility_violations(site, browser, who):
    from tests.web.axe import serious_violations

    # axe is injected as a script, which the pages' CSP (rightly) refuses: bypass it here only
    page = browser.new_context(bypass_csp=True).new_page()
    srv, pw = site
    page.goto(f"{srv.base}/login")
    problems = {"login": serious_violations(page)}
    sign_in(page, srv, who, pw[who])
    page.wait_for_url("**/patients**")
    if who == "dr.lee":
        paths = ["/patients", "/side-effects"]
        page.goto(f"{srv.base}/patients?q=DEMO-000001")
        page.locator("tbody a").first.click()
        pid = page.url.rsplit("/", 1)[1]
        paths += [f"/patients/{pid}", f"/patients/{pid}/cycles/new",
                  f"/patients/{pid}/outcomes/new", f"/patients/{pid}/goals",
                  f"/patients/{pid}/side-effects/new", f"/patients/{pid}/leaflet"]
    else:
        pid = page.url.rsplit("/", 1)[1]
        paths = [f"/patients/{pid}", f"/patients/{pid}/diary", f"/patients/{pid}/leaflet",
                 f"/patients/{pid}/side-effects/new"]
    for path in paths:
        page.goto(f"{srv.base}{path}")
        problems[path] = serious_violations(page)
    assert not {k: v for k, v in problems.items() if v}, problems


def test_patient_timeline_is_in_plain_language(site, page):
    srv, pw = site
    sign_in(page, srv, "patient1", pw["patient1"])
    page.wait_for_url("**/patients/*")
    text = page.locator("main").inner_text()
    assert "injections of" in text and "Into:" in text
    assert "verdict" not in text.lower() and "MUSCLE_" not in text


def test_admin_signs_in_and_sees_the_clinic_list(site, page):
    srv, pw = site
    sign_in(page, srv, "admin", pw["admin"])
    page.wait_for_url("**/patients")
    assert page.locator("tbody tr").count() >= 6
    open_patient(page, srv, "DEMO-000001")
    assert page.get_by_role("link", name="Plan a cycle").count() == 0  # admins do not treat


def test_body_map_works_with_the_keyboard(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.okafor", pw["dr.okafor"])
    page.wait_for_url("**/patients")
    open_plan(page, srv, "DEMO-000002")
    point = page.get_by_role("button", name="Soleus, right")
    point.focus()
    page.keyboard.press("Enter")
    assert page.locator("select[name=muscle]").last.input_value() == "soleus"
    assert page.locator("select[name=side]").last.input_value() == "right"
    assert page.evaluate("document.activeElement.name") == "units"


def test_repeated_wrong_passwords_elsewhere_do_not_lock_the_real_user_out(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.okafor", pw["dr.okafor"])  # the real user, from this address
    page.wait_for_url("**/patients")
    for i in range(15):  # an attacker from other addresses (not trusted: the header is
        httpx.post(f"{srv.base}/api/v1/auth/token",  # ignored, all count as this one)
                   json={"username": "dr.okafor", "password": f"wrong password {i}"},
                   headers={"X-Forwarded-For": f"192.0.2.{i}"}, timeout=30)
    page.context.clear_cookies()
    sign_in(page, srv, "dr.okafor", pw["dr.okafor"])
    alert = page.get_by_role("alert")
    if alert.count():  # this address now waits (its own failures): the same message
        assert alert.inner_text() == accounts.FAILED


def test_pages_run_under_the_csp_without_violations(site, page):
    srv, pw = site
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    open_plan(page, srv, "DEMO-000001")
    page.get_by_role("button", name="Biceps brachii, left").click()
    page.get_by_label("Units 0").fill("60")
    expect(page.locator("#verdict")).to_be_attached()
    assert violations == []


def test_overdue_patients_are_flagged_in_the_list_and_on_their_page(site, page):
    """Demo cycles end about 100 days before 2026-11-02: on any later day the earliest safe
    date or the suggested window has passed, so patients are flagged, never shown a past
    date as "suggested"."""
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    flagged = page.locator("tbody tr", has=page.locator(".badge", has_text="Overdue"))
    assert flagged.count() >= 1
    flagged.first.locator("a").click()
    page.wait_for_url("**/patients/*")
    expect(page.locator("p.due.overdue").first).to_be_visible()
    assert "no earlier cycle recorded" not in page.content()
    text = page.locator("main").inner_text()
    assert not re.search(r"Suggested window for the next cycle: \d{4}-", text)
    shot(page, "patient-overdue")


def test_a_nurses_draft_is_never_shown_to_the_patient(site, browser):
    srv, pw = site
    patient = browser.new_context().new_page()
    sign_in(patient, srv, "patient1", pw["patient1"])
    patient.wait_for_url("**/patients/*")
    own = patient.url
    nurse = browser.new_context().new_page()
    sign_in(nurse, srv, "nurse.kim", pw["nurse.kim"])
    nurse.wait_for_url("**/patients")
    nurse.goto(f"{own}/cycles/new?copy=none")
    nurse.get_by_label("Product").select_option("daxibotulinumtoxinA")
    nurse.get_by_role("button", name="Biceps brachii, left").click()
    nurse.get_by_label("Units 0").fill("50")
    nurse.get_by_label("Sites 0").fill("2")
    expect(nurse.locator("#verdict")).to_be_attached()
    nurse.get_by_role("button", name="Record the cycle").click()
    nurse.wait_for_url(re.compile(r"/cycles/\d+$"))  # "/cycles/new" would match a glob
    assert "planned, not given" in nurse.content()
    draft = nurse.url
    nurse.context.close()
    patient.goto(own)
    text = patient.locator("main").inner_text()
    assert "Daxxify" not in text and "DAXXIFY" not in text.upper()
    assert patient.goto(draft).status == 404
    shot(patient, "patient-portal-without-draft")
    patient.context.close()
