"""Triage in a real browser: a patient sees the urgent message wherever they write (diary,
side-effect form), an unclear report gets the call-back message, and the clinic's list
shows diary red flags at the top."""

from __future__ import annotations

from tests.web.conftest import shot, sign_in


def test_diary_red_flag_shows_the_urgent_message_and_tops_the_clinics_list(site, browser):
    srv, pw = site
    patient = browser.new_context().new_page()
    sign_in(patient, srv, "patient1", pw["patient1"])
    patient.wait_for_url("**/patients/*")
    patient.get_by_role("link", name="Diary").click()
    patient.get_by_label("Side effects").fill(
        "trouble swallowing since yesterday, choking on water")
    patient.get_by_role("button", name="Save").click()
    alert = patient.get_by_role("alert")
    assert "Seek urgent care now" in alert.inner_text()
    assert "choking on water" in alert.inner_text() or "trouble swallowing" in alert.inner_text()
    shot(patient, "diary-urgent-care")
    patient.get_by_role("link", name="Back").click()
    assert "red flag: swallowing" in patient.locator("tbody").inner_text()
    patient.context.close()

    staff = browser.new_context().new_page()
    sign_in(staff, srv, "dr.lee", pw["dr.lee"])
    staff.wait_for_url("**/patients")
    staff.get_by_role("link", name="Side effects").click()
    first = staff.locator("tbody tr").first
    text = first.inner_text()
    assert "choking on water" in text and "URGENT: swallowing" in text and "diary" in text
    assert first.get_attribute("data-level") == "urgent"
    shot(staff, "clinic-list-diary-red-flag")
    staff.context.close()


def test_unclear_side_effect_gets_the_call_back_message_and_is_listed_after_urgent(
        site, browser):
    srv, pw = site
    patient = browser.new_context().new_page()
    sign_in(patient, srv, "patient1", pw["patient1"])
    patient.wait_for_url("**/patients/*")
    patient.get_by_role("link", name="Report a side effect").click()
    patient.get_by_label("What happened?").fill("my eyes feel funny")
    patient.get_by_role("button", name="Send").click()
    status = patient.get_by_role("status")
    assert "Your clinic will call you back" in status.inner_text()
    assert patient.get_by_role("alert").count() == 0
    shot(patient, "side-effect-unclear")
    patient.context.close()

    staff = browser.new_context().new_page()
    sign_in(staff, srv, "dr.lee", pw["dr.lee"])
    staff.wait_for_url("**/patients")
    staff.get_by_role("link", name="Side effects").click()
    levels = [r.get_attribute("data-level") for r in staff.locator("tbody tr").all()]
    assert levels == sorted(levels, key=["urgent", "unclear", "not_urgent"].index)
    row = staff.locator("tbody tr", has_text="my eyes feel funny")
    assert row.get_attribute("data-level") == "unclear" and "call back" in row.inner_text()
    staff.context.close()


def test_the_leaflets_words_typed_into_the_side_effect_form_are_urgent(site, browser):
    srv, pw = site
    patient = browser.new_context().new_page()
    sign_in(patient, srv, "patient1", pw["patient1"])
    patient.wait_for_url("**/patients/*")
    patient.get_by_role("link", name="Report a side effect").click()
    patient.get_by_label("What happened?").fill("drooping eyelids")
    patient.get_by_role("button", name="Send").click()
    assert "Seek urgent care now" in patient.get_by_role("alert").inner_text()
    patient.context.close()
