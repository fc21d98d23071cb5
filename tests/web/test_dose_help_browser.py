"""The planner's dose help in a real browser: clicking a muscle on the body map shows the
label's range for the chosen product (brand and generic name), its source, the patient's
last doses and the clinic's median; a muscle without a label range says it is not
checked."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.axe import axe_source
from tests.web.conftest import shot, sign_in


def test_clicking_a_muscle_shows_the_dose_help_panel(site, browser):
    srv, pw = site
    context = browser.new_context(viewport={"width": 1200, "height": 900},
                                  bypass_csp=True)  # axe runs as an inline script
    page = context.new_page()
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    page.goto(f"{srv.base}/patients?q=DEMO-000005")
    page.locator("tbody a").first.click()
    page.get_by_role("link", name="Plan a cycle").click()
    page.wait_for_url("**/cycles/new")
    page.select_option("#product", "onabotulinumtoxinA")
    page.select_option("#indication", "upper_limb_spasticity")
    page.locator('.bm-point[data-muscle="biceps_brachii"][data-side="left"]:visible').click()
    panel = page.locator("#dose-help")
    expect(panel.locator("#dose-help-title")).to_have_text(
        "Biceps brachii (left) · BOTOX (onabotulinumtoxinA)")
    expect(panel.locator(".dh-range")).to_contain_text(" U")
    expect(panel.locator("dd cite")).to_be_visible()  # the source, with its quoted words
    expect(panel.locator("dl.dose-help")).to_contain_text(re.compile("biceps brachii", re.I))
    expect(panel).to_contain_text("Last doses of BOTOX (onabotulinumtoxinA)")
    expect(panel.locator(".dh-clinic")).not_to_be_empty()
    shot(page, "plan-dose-help")
    # keyboard: focusing a point is enough; a muscle the label has no range for says so
    page.locator('.bm-point[data-muscle="pronator_teres"][data-side="right"]:visible').focus()
    expect(panel.locator("#dose-help-title")).to_contain_text("Pronator teres (right)")
    expect(panel.locator(".dh-not-checked")).to_contain_text("not checked")
    # axe on the panel: no serious or critical violation
    page.add_script_tag(content=axe_source())
    result = page.evaluate("async () => await axe.run('#dose-help')")
    serious = [f"{v['id']}: {v['help']}" for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []
    context.close()
