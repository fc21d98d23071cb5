"""The planning screen shows and edits the patient's medicines, and the live check uses them:
Debian's Chromium through Playwright against a real server on a demo database."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.conftest import shot, sign_in
from tests.web.test_browser import open_plan


def test_clinician_adds_baclofen_on_the_plan_and_the_check_shows_the_interaction(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    open_plan(page, srv, "DEMO-000004")
    medicines = page.locator("#medicines")
    expect(medicines).to_contain_text("Medicines")

    page.get_by_label("Indication").select_option("upper_limb_spasticity")
    page.get_by_role("button", name="Biceps brachii, left").click()
    page.get_by_label("Units 0").fill("50")
    page.locator("#verdict").wait_for()
    expect(page.locator("li.finding[data-code=DRUG_INTERACTION]")).to_have_count(0)

    page.get_by_label("Medicines, one per line").fill("Baclofen 10 mg tds\nsomethingunknown")
    page.get_by_role("button", name="Save medicines").click()
    expect(page.get_by_role("status")).to_contain_text("Medicines saved")
    expect(medicines).to_contain_text("read as baclofen — muscle relaxants")
    expect(medicines).to_contain_text("not recognised, interactions not checked")

    # the live check ran again with the stored list
    interaction = page.locator("li.finding[data-code=DRUG_INTERACTION]")
    expect(interaction).to_have_count(1)
    expect(interaction).to_contain_text("muscle relaxants")
    expect(interaction).to_contain_text("Source:")
    expect(page.locator("li.finding[data-code=MEDICATION_NOT_RECOGNISED]")).to_contain_text(
        "somethingunknown")
    expect(page.locator("#verdict")).to_have_text("warning")
    shot(page, "plan-medicines")

    # the list is stored (the record keeps names in lower case): a fresh screen shows it
    page.reload()
    expect(page.get_by_label("Medicines, one per line")).to_have_value(
        "baclofen 10 mg tds\nsomethingunknown")

    # clearing the list removes the findings
    page.get_by_label("Medicines, one per line").fill("")
    page.get_by_role("button", name="Save medicines").click()
    expect(page.get_by_role("status")).to_contain_text("Medicines saved")
    expect(medicines).to_contain_text("No medicines recorded")


def test_a_too_long_medicine_name_is_refused_in_place_and_nothing_is_saved(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    open_plan(page, srv, "DEMO-000002")
    page.get_by_label("Medicines, one per line").fill("x" * 300)
    page.get_by_role("button", name="Save medicines").click()
    expect(page.get_by_role("alert").filter(has_text="Not saved")).to_be_visible()
    alert = page.get_by_role("alert").filter(has_text="Not saved")
    expect(alert).to_contain_text("Medicine, line 1: write at most 200 characters")
    page.reload()
    expect(page.get_by_label("Medicines, one per line")).to_have_value("")
