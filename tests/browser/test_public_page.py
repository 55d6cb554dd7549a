"""The public status page in Chromium: the day detail of the 90-day bars by keyboard and by hover, times in the
reader's zone (Asia/Tokyo here, through CDP's Emulation.setTimezoneOverride) with UTC on hover, the same page
with JavaScript disabled (UTC times, every day focusable with its detail), and the logo and accent colour
given with --page-logo and --page-accent, all under the page's CSP (any violation is reported in the console
and fails the test)."""
import datetime
import os
import struct
import subprocess
import tempfile
import zlib

import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

ACCENT = "#ffeb3b"  # too light for white text: the page must pick readable shades of it


def png(width, height, rgb):
    """A real PNG of one colour, so the browser decodes it."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def logo_file():
    folder = tempfile.mkdtemp(prefix="belay-logo-")
    path = os.path.join(folder, "logo.png")
    with open(path, "wb") as f:
        f.write(png(64, 64, (24, 73, 169)))
    return path


@pytest.fixture
def belay_options(logo_file):
    """Overrides conftest's: a logo file and a light accent."""
    return (["--page-logo", logo_file, "--page-accent", ACCENT], None)


@pytest.fixture
def outage(belay):
    """A component with a partial outage open now, and an update posted to it, through the API."""
    created = subprocess.run([belay.binary, "admin", "create-token", "--role", "admin", "--data", belay.data],
                             check=True, capture_output=True, text=True, timeout=60)
    headers = {"Authorization": "Bearer " + created.stdout.strip().splitlines()[-1]}

    def api(path, body):
        response = requests.post(belay.url + path, json=body, headers=headers, timeout=30)
        assert response.status_code < 300, f"{path} -> {response.status_code} {response.text[:500]}"
        return response.json()

    api("/api/v1/components", {"slug": "api", "name": "Public API"})
    incident = api("/api/v1/incidents", {"title": "Slow responses", "severity": "sev3", "message": "We are looking into it.",
                                         "components": [{"slug": "api", "impact": "partial_outage"}]})
    api(f"/api/v1/incidents/{incident['id']}/updates", {"status": "identified", "message": "A cache node is failing."})
    return incident


def console_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def tip_box(driver, day):
    """The detail's box (x, y, width, height) as drawn; 1 px wide while hidden."""
    return driver.execute_script("const r = arguments[0].querySelector('.day-tip').getBoundingClientRect();"
                                 "return [r.left, r.top, r.width, r.height, window.innerWidth];", day)


def tab_to_a_day(driver, limit=80):
    driver.find_element(By.TAG_NAME, "body").click()
    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        active = driver.switch_to.active_element
        if active.tag_name == "li" and "day" in (active.get_attribute("class") or "").split():
            return active
    raise AssertionError(f"no day of the history bar took focus within {limit} presses of Tab")


def today_utc():
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{now.day} {now.strftime('%b')} {now.year}"


def test_keyboard_focus_and_hover_show_a_days_detail(belay, outage, browsers, ui):
    driver = browsers()
    page = ui(driver)
    page.go("/", "home with the bars")

    day = tab_to_a_day(driver)
    # The script leaves one tab stop per bar, on today.
    assert day.get_attribute("tabindex") == "0"
    page.shot("today focused by keyboard")
    left, top, width, height, viewport = tip_box(driver, day)
    assert width > 60 and height > 20, f"the focused day's detail is not shown ({width}x{height})"
    assert left >= 0 and left + width <= viewport, f"the detail runs off the screen ({left}..{left + width} of {viewport})"
    detail = day.find_element(By.CSS_SELECTOR, ".day-tip").text
    assert today_utc() in detail, detail
    assert "uptime" in detail and "Partial outage" in detail and "Incident: Slow responses" in detail, detail

    # Arrow keys walk the bar; the detail follows the focus.
    ActionChains(driver).send_keys(Keys.ARROW_LEFT).perform()
    yesterday = driver.switch_to.active_element
    assert yesterday != day and "day" in yesterday.get_attribute("class")
    assert tip_box(driver, day)[2] <= 1, "the detail of the day left behind stays open"
    assert today_utc() not in yesterday.find_element(By.CSS_SELECTOR, ".day-tip").text
    assert tip_box(driver, yesterday)[2] > 60
    ActionChains(driver).send_keys(Keys.HOME).perform()
    first = driver.switch_to.active_element
    first_box = tip_box(driver, first)
    assert first_box[0] >= 0, "the first day's detail runs off the left edge"
    page.shot("first day focused")

    # Hover shows a day's detail as well.
    middle = driver.find_elements(By.CSS_SELECTOR, "ol.days li.day")[45]
    driver.find_element(By.TAG_NAME, "h1").click()
    ActionChains(driver).move_to_element(middle).perform()
    assert tip_box(driver, middle)[2] > 60, "hovering a day does not show its detail"
    page.shot("a day hovered")

    # On a phone's width the detail of today (at the right edge) stays on the screen.
    driver.set_window_size(390, 900)
    page.go("/")
    day = tab_to_a_day(driver)
    left, _, width, _, viewport = tip_box(driver, day)
    assert width > 60 and left >= 0 and left + width <= viewport, (left, width, viewport)
    page.shot("today focused at 390 px")
    assert not [m for m in console_errors(driver) if "Content Security Policy" in m or "Refused" in m], console_errors(driver)


def test_times_are_shown_in_the_readers_zone_with_utc_on_hover(belay, outage, browsers, ui):
    driver = browsers()
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
    page = ui(driver)
    page.go("/", "home in Tokyo time")
    times = driver.find_elements(By.CSS_SELECTOR, "time[datetime]")
    assert len(times) >= 3, "expected the updates' and the footer's times"
    for element in times:
        stamp = element.get_attribute("datetime")
        title = element.get_attribute("title")
        text = element.text
        when = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        tokyo = when.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
        assert title.endswith(" UTC") and f"{when.hour:02d}:{when.minute:02d} UTC" in title, title
        assert "UTC" not in text, f"{stamp} still reads {text!r}"
        assert "GMT+9" in text or "JST" in text, text
        clock = (f"{tokyo.hour:02d}:{tokyo.minute:02d}", f"{(tokyo.hour % 12) or 12:02d}:{tokyo.minute:02d}")
        date = (f"{tokyo.strftime('%b')} {tokyo.day},", f"{tokyo.day} {tokyo.strftime('%b')}")
        assert any(c in text for c in clock) and any(d in text for d in date), f"{stamp} reads {text!r} in Tokyo"
    # The incident's own page and the history say the same.
    page.go(f"/incidents/{outage['id']}", "incident page in Tokyo time")
    assert all("UTC" not in t.text for t in driver.find_elements(By.CSS_SELECTOR, "time[datetime]"))
    assert not [m for m in console_errors(driver) if "Content Security Policy" in m or "Refused" in m], console_errors(driver)


def test_without_javascript_times_read_utc_and_every_day_keeps_its_detail(belay, outage, browsers, ui):
    driver = browsers()
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    page = ui(driver)
    page.go("/", "home without JavaScript")
    times = driver.find_elements(By.CSS_SELECTOR, "time[datetime]")
    assert times and all(t.text.endswith(" UTC") and t.text == t.get_attribute("title") for t in times), [t.text for t in times]
    # The script did not run: no time was rewritten, and every day is its own tab stop.
    assert not driver.find_elements(By.CSS_SELECTOR, "time.local-time")
    days = driver.find_elements(By.CSS_SELECTOR, "ol.days li.day")
    assert len(days) == 90 and all(d.get_attribute("tabindex") == "0" for d in days)
    day = tab_to_a_day(driver)
    assert day == days[0], "without the script, Tab reaches the oldest day first"
    detail = day.find_element(By.CSS_SELECTOR, ".day-tip")
    assert detail.size["width"] > 60, "the focused day's detail is not shown without JavaScript"
    assert "No data" in detail.text or "uptime" in detail.text, detail.text
    page.shot("first day focused without JavaScript")
    # Today's detail is in the HTML too.
    assert "Incident: Slow responses" in days[-1].get_attribute("textContent")


def test_logo_and_accent_are_drawn_in_readable_shades(belay, outage, browsers, ui):
    driver = browsers()
    page = ui(driver)
    page.go("/", "logo and accent")
    logo = driver.find_element(By.CSS_SELECTOR, ".brand img.logo")
    assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", logo) == 64
    colours = driver.execute_script("""
        const css = (el, p) => getComputedStyle(el).getPropertyValue(p).trim();
        const top = document.querySelector('header.top'), brand = document.querySelector('.brand');
        const button = document.querySelector('button');
        return {stripe: css(top, 'border-top-color'), brand: css(brand, 'color'), background: css(document.body, 'background-color'),
                button: button ? css(button, 'background-color') : null, buttonText: button ? css(button, 'color') : null};
    """)
    assert colours["stripe"] == "rgb(255, 235, 59)", colours

    def luminance(rgb):
        values = [int(v) / 255 for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
        lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def contrast(a, b):
        la, lb = sorted([luminance(a), luminance(b)], reverse=True)
        return (la + 0.05) / (lb + 0.05)

    assert colours["brand"] != "rgb(255, 235, 59)", "the light accent was used as text on white"
    assert contrast(colours["brand"], colours["background"]) >= 4.5, colours
    if colours["button"]:
        assert contrast(colours["button"], colours["buttonText"]) >= 4.5, colours
    logo_response = requests.get(belay.url + "/assets/logo.png", timeout=30)
    assert logo_response.headers["Content-Type"] == "image/png"
    assert not [m for m in console_errors(driver) if "Content Security Policy" in m or "Refused" in m], console_errors(driver)
