"""The planner's "Start from a pattern" in a real browser: the rows come from the chosen
product's label and the live check runs on them."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.conftest import shot, sign_in


def test_start_from_a_pattern_fills_the_rows_and_the_check_runs(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    page.goto(f"{srv.base}/patients?q=DEMO-000005")
    page.locator("tbody a").first.click()
    page.get_by_role("link", name="Plan a cycle").click()
    page.wait_for_url("**/cycles/new")
    page.select_option("#pattern", "thumb_in_palm")
    page.select_option("#pattern-product", "incobotulinumtoxinA")
    page.select_option("#pattern-side", "left")
    page.get_by_role("button", name="Fill the rows from the label").click()
    page.wait_for_url("**/cycles/new?pattern=thumb_in_palm*")
    rows = page.locator("#injections tbody tr")
    expect(rows).to_have_count(3)
    assert [page.locator("input[name=units]").nth(i).input_value() for i in range(3)] == [
        "10", "5", "5"]
    assert page.locator("#product").input_value() == "incobotulinumtoxinA"
    assert page.locator("#indication").input_value() == "upper_limb_spasticity"
    assert "Opponens pollicis" in page.locator("#started").inner_text()
    expect(page.locator("#verdict")).to_be_visible()
    shot(page, "plan-from-pattern")
