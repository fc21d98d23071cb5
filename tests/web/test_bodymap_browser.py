"""The body map in Debian's Chromium (issue 17, item 3): a point's name on hover and on
keyboard focus, a searchable list that adds a muscle without a mouse, zoom regions whose
points are touch targets of at least 24 CSS px on a phone, the doses drawn on the record's
map and its print view, no sideways scrolling at 375 px and no serious axe violation."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.axe import serious_violations
from tests.web.conftest import HAVE_CHROMIUM, SHOTS, shot, sign_in
from tests.web.test_browser import open_patient, open_plan

if not HAVE_CHROMIUM:
    pytestmark = pytest.mark.skip(reason="Debian chromium is not installed (.ci/run installs it)")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screens"
WHOLE = '.bm-view[data-region="whole"] '


def doc_shot(page, name: str, part: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """The artifact screenshot (of the page, or of one ``part`` of it); with
    BONTRACK_DOC_SHOTS=1 also docs/screens/ (docs/web.md)."""
    if part:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(part).screenshot(path=str(SHOTS / f"{name}.png"))
    else:
        shot(page, name)
    if os.environ.get("BONTRACK_DOC_SHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHOTS / f"{name}.png", DOCS / f"{name}.png")


def clinician(browser, site, width: int):  # type: ignore[no-untyped-def]
    srv, pw = site
    page = browser.new_context(viewport={"width": width, "height": 800},
                               bypass_csp=True).new_page()  # axe runs as an inline script
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/patients")
    return page


def no_sideways_scroll(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_hover_and_keyboard_focus_show_the_muscle_name(site, browser):
    page = clinician(browser, site, 1024)
    open_plan(page, site[0], "DEMO-000003")
    tip = page.locator("#bm-tip")
    expect(tip).to_be_hidden()
    point = page.locator(WHOLE + '.bm-point[data-muscle="biceps_brachii"][data-side="left"]')
    point.hover()
    expect(tip).to_be_visible()
    expect(tip).to_have_text("Biceps brachii, left")
    assert point.locator("title").text_content() == "Biceps brachii (left)"
    # keyboard only: Tab from the last zoom button reaches the points; focus shows the name
    page.locator('.bm-zoom button[data-region="leg_left"]').focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    expect(tip).to_have_text(focused)
    top, bottom = page.evaluate("(r => [r.top, r.bottom])("
                                "document.activeElement.getBoundingClientRect())")
    tip_box = tip.bounding_box()  # beside the point (above, or below near the top), not on it
    assert tip_box is not None
    assert tip_box["y"] + tip_box["height"] <= top + 1 or tip_box["y"] >= bottom - 1
    page.get_by_role("button", name="Soleus, right").focus()
    expect(tip).to_have_text("Soleus, right")
    page.context.close()


def test_the_searchable_list_adds_a_muscle_without_a_mouse(site, browser):
    page = clinician(browser, site, 1024)
    open_plan(page, site[0], "DEMO-000003")
    page.get_by_label("Indication").select_option("upper_limb_spasticity")
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    rows = page.locator("#injections tbody tr")
    before = rows.count()
    search = page.get_by_role("combobox", name="Find a muscle")
    search.focus()
    page.keyboard.type("carpi rad")
    options = page.locator("#bm-list [role=option]:visible")
    expect(options).to_have_count(2)  # flexor carpi radialis, left and right
    page.keyboard.press("ArrowDown")  # from the first match (left) to the right
    assert search.get_attribute("aria-activedescendant") == "bm-opt-flexor_carpi_radialis-right"
    page.keyboard.press("Enter")
    expect(rows).to_have_count(before + 1)
    assert page.locator("select[name=muscle]").last.input_value() == "flexor_carpi_radialis"
    assert page.locator("select[name=side]").last.input_value() == "right"
    assert page.evaluate("document.activeElement.name") == "units"  # as a point does
    expect(page.locator("#dose-help-title")).to_contain_text("Flexor carpi radialis (right)")
    # the plan was not submitted by Enter, and its points are marked as chosen
    assert page.url.endswith("/cycles/new?copy=none")
    assert page.locator('.bm-point.chosen[data-muscle="flexor_carpi_radialis"]').count() >= 2
    # a muscle with no point on the map is still in the list
    search.fill("detrusor")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("not on the map")
    search.fill("no such muscle")
    expect(page.locator("#bm-none")).to_be_visible()
    page.context.close()


def test_zoom_to_an_arm_on_a_phone_gives_touch_size_points(site, browser):
    page = clinician(browser, site, 375)
    open_plan(page, site[0], "DEMO-000003")
    assert no_sideways_scroll(page)
    whole = page.locator(WHOLE + ".bm-point").first.bounding_box()
    assert whole is not None and whole["width"] < 24  # the whole body: too small to hit
    page.get_by_role("button", name="Left arm").click()
    expect(page.get_by_role("button", name="Left arm")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(WHOLE.strip())).to_be_hidden()
    points = page.locator('.bm-view[data-region="arm_left"] .bm-point')
    assert points.count() >= 20
    sizes = [points.nth(i).bounding_box() for i in range(points.count())]
    assert all(b is not None and b["width"] >= 24 and b["height"] >= 24 for b in sizes), sizes
    assert no_sideways_scroll(page)
    doc_shot(page, "bodymap-arm-phone", ".bodymap")
    page.get_by_role("button", name="Pronator teres, left").click()  # tap a zoomed point
    assert page.locator("select[name=muscle]").last.input_value() == "pronator_teres"
    for region in ("Face and head", "Neck", "Right arm", "Right leg", "Left leg"):
        page.get_by_role("button", name=region, exact=True).click()
        shown = page.locator(".bm-view:not([hidden]) .bm-point")
        assert shown.count() > 3
        for i in range(shown.count()):
            b = shown.nth(i).bounding_box()
            assert b is not None and b["width"] >= 24, (region, i, b)
        assert no_sideways_scroll(page), region
    page.get_by_role("button", name="Whole body").click()
    expect(page.locator(WHOLE.strip())).to_be_visible()
    assert serious_violations(page) == []
    page.context.close()


def test_the_planner_at_tablet_width_has_no_sideways_scroll_or_serious_violation(site, browser):
    page = clinician(browser, site, 1024)
    open_plan(page, site[0], "DEMO-000002")
    page.get_by_role("button", name="Neck").click()
    assert no_sideways_scroll(page)
    doc_shot(page, "bodymap-neck-tablet", ".plan-grid")
    assert serious_violations(page) == []
    page.context.close()


def signed_cycle(page, srv) -> str:  # type: ignore[no-untyped-def]
    open_patient(page, srv, "DEMO-000005")
    page.locator('a[href^="/cycles/"]').filter(has_text=re.compile(r"\d{4}-")).first.click()
    page.wait_for_url(re.compile(r".*/cycles/\d+$"))
    return page.url


@pytest.mark.parametrize("width", [1024, 375])
def test_the_record_and_its_print_view_draw_the_doses_on_the_map(site, browser, width):
    page = clinician(browser, site, width)
    url = signed_cycle(page, site[0])
    for view in (url, url + "/print"):
        page.goto(view)
        rows = page.locator("table").first.locator("tbody tr")
        table: dict[tuple[str, str], list[str]] = {}
        for i in range(rows.count()):
            cells = rows.nth(i).locator("td").all_inner_texts()
            table.setdefault((cells[0], cells[1]), []).append(cells[2])
        # one drawing shows: wide on a tablet, front above back on a phone
        svg = page.locator(".dose-map svg:visible")
        assert svg.count() == 1
        assert svg.get_attribute("class") == ("dm-stacked" if width == 375 else "dm-wide")
        marks = svg.locator(".dm-mark")
        assert marks.count() >= 1
        drawn = {}
        for i in range(marks.count()):
            title = marks.nth(i).locator("title").text_content() or ""
            name, text = title.rsplit(": ", 1)
            label = marks.nth(i).locator("text.dm-label").text_content()
            assert label == text and label.endswith(" U")  # the units, with the unit
            drawn[name] = text
        # every injection in the table is drawn with the same amounts (or named off the map)
        caption = page.locator(".dose-map figcaption").inner_text()
        for (muscle, side), amounts in table.items():
            text = " + ".join(amounts) + " U"
            assert drawn.get(f"{muscle} ({side})") == text or f"{muscle}, {side}: {text}" in caption
        assert svg.get_attribute("role") == "img"
        assert no_sideways_scroll(page), view
        # the map fits its own box: nothing to scroll sideways inside it either
        box = page.locator(".dose-map").bounding_box()
        drawn_box = svg.bounding_box()
        assert drawn_box["x"] >= box["x"] - 0.5
        assert drawn_box["x"] + drawn_box["width"] <= box["x"] + box["width"] + 0.5, view
        # and its labels are drawn at a readable size (the wide drawing squeezed into a
        # phone drew them at about 6 px)
        label_px = svg.locator("text.dm-label").first.bounding_box()["height"]
        assert label_px >= 9, (view, label_px)
        assert serious_violations(page) == [], view
        if width == 1024 and view.endswith("print"):
            shot(page, "cycle-dose-map-print")
        elif width == 1024:
            doc_shot(page, "cycle-dose-map", ".dose-map")
        elif not view.endswith("print"):
            doc_shot(page, "cycle-dose-map-phone", ".dose-map")
    page.context.close()


def test_the_print_view_prints_the_dose_map_in_black_on_white(site, browser):
    page = clinician(browser, site, 1024)
    url = signed_cycle(page, site[0])
    page.goto(url + "/print")
    page.emulate_media(media="print")
    svg = page.locator(".dose-map svg:visible")
    assert svg.count() == 1 and svg.get_attribute("class") == "dm-wide"  # wide on paper
    label = svg.locator("text.dm-label").first
    assert label.evaluate("e => getComputedStyle(e).fill") == "rgb(0, 0, 0)"
    ring = svg.locator(".dm-ring").first
    assert ring.evaluate("e => getComputedStyle(e).stroke") == "rgb(0, 0, 0)"
    assert svg.bounding_box()["width"] <= 1024
    pdf = page.pdf(format="A4")
    assert len(pdf) > 1000
    page.context.close()
