"""The cycle diary in a real browser at a phone's width (375 px): the patient opens it from
their record after a signed cycle, a wear-off before the onset is refused naming the field,
a good answer is shown, and the clinician sees it on the cycle page."""

from __future__ import annotations

from tests.web.conftest import shot, sign_in


def test_patient_answers_the_cycle_diary_on_a_phone_and_the_clinician_sees_it(site, browser):
    srv, pw = site
    context = browser.new_context(viewport={"width": 375, "height": 800})
    patient = context.new_page()
    sign_in(patient, srv, "patient1", pw["patient1"])
    patient.wait_for_url("**/patients/*")
    patient.get_by_role("link", name="Tell us how these injections worked").first.click()
    patient.wait_for_url("**/cycles/*/diary")
    form = patient.locator("#cycle-diary-form")
    injected = form.locator("#onset_date").get_attribute("min")
    assert injected
    # nothing wider than the phone
    assert patient.evaluate("document.documentElement.scrollWidth") <= 375

    form.get_by_label("On this day:").first.check()
    form.locator("#onset_date").fill(injected)
    form.locator("input[name=wore_off][value=date]").check()
    form.locator("#wore_off_date").fill(injected)
    form.get_by_role("button", name="Send").click()
    alert = patient.get_by_role("alert")
    assert "wore_off_date" in alert.inner_text() and "not after the day" in alert.inner_text()

    form = patient.locator("#cycle-diary-form")
    form.locator("input[name=wore_off][value=not_yet]").check()
    form.get_by_label("Much improved", exact=True).check()
    form.get_by_role("button", name="Send").click()
    patient.wait_for_url("**/diary?saved=1")
    current = patient.locator("#current-answer").inner_text()
    assert injected in current and "Much improved" in current
    assert patient.evaluate("document.documentElement.scrollWidth") <= 375
    shot(patient, "cycle-diary-phone")
    cycle_url = patient.url.split("/diary")[0]
    context.close()

    staff = browser.new_context().new_page()
    sign_in(staff, srv, "dr.lee", pw["dr.lee"])
    staff.wait_for_url("**/patients")
    staff.goto(cycle_url)
    summary = staff.locator("#cycle-diary-summary").inner_text()
    assert "Much improved" in summary and injected in summary
    staff.context.close()
