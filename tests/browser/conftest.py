"""Browser tests of Belay's responder web app: a real `belay serve`, real headless Chromium through Selenium.

Each test gets a fresh server on a free port with an empty data directory (so its first-run setup link), and
as many browsers as it asks for. Every step saves a screenshot into one folder, named at the start and the end
of the run; a failed test also saves a screenshot and the HTML of every browser it had open, and the server's
log, next to its step screenshots.

    bash tests/browser/install.sh
    BELAY_BIN=.build/debug/belay BELAY_SCREENSHOTS=/tmp/belay-screenshots python3 -m pytest -q tests/browser
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    UnexpectedAlertPresentException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 10  # seconds: the longest any explicit wait may take

_SCREENSHOTS = None
_screens_key = pytest.StashKey[str]()


# ---------------------------------------------------------------- screenshots folder, reported whatever -s says

def pytest_configure(config):
    global _SCREENSHOTS
    root = os.environ.get("BELAY_SCREENSHOTS")
    if root:
        os.makedirs(root, exist_ok=True)
    else:
        root = tempfile.mkdtemp(prefix="belay-screenshots-")
    _SCREENSHOTS = os.path.abspath(root)
    config.stash[_screens_key] = _SCREENSHOTS


def pytest_report_header(config):
    return f"screenshots: {config.stash[_screens_key]}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(f"screenshots: {config.stash[_screens_key]}")


@pytest.fixture(scope="session")
def screenshot_root(pytestconfig):
    root = pytestconfig.stash[_screens_key]
    print(f"screenshots: {root}")
    return root


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


# ---------------------------------------------------------------- the server

def belay_binary():
    path = os.environ.get("BELAY_BIN")
    if path:
        return path
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_dir, "belay")


class BelayServer:
    """`belay serve --port 0 --data DIR [args]`; `url` from the stderr log, `setup_url` from the first-run line on
    stdout. `env` adds variables to the server's environment."""

    def __init__(self, binary, data, args=(), env=None):
        self.binary = binary
        self.data = data
        self.stdout_path = os.path.join(data, "serve.stdout")
        self.stderr_path = os.path.join(data, "serve.stderr")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", "0", "--data", data, *args],
            stdin=subprocess.DEVNULL, stdout=open(self.stdout_path, "w"), stderr=open(self.stderr_path, "w"),
            env={**os.environ, **env} if env else None)
        self._setup_url = None
        deadline = time.time() + 30
        while time.time() < deadline:
            for line in self._read(self.stderr_path).splitlines():
                match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
                if match:
                    self.port = int(match.group(1))
                    self.url = f"http://127.0.0.1:{self.port}"
                    return
            if self.process.poll() is not None:
                raise RuntimeError("belay serve exited early:\n" + self._read(self.stderr_path))
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("belay serve did not log 'listening on 127.0.0.1:PORT' within 30 s:\n" + self._read(self.stderr_path))

    @staticmethod
    def _read(path):
        with open(path, errors="replace") as f:
            return f.read()

    @property
    def setup_url(self):
        """The one-time setup link the first start prints on stdout (waits up to 10 s for it)."""
        if self._setup_url:
            return self._setup_url
        deadline = time.time() + WAIT
        while time.time() < deadline:
            match = re.search(r"(\S*/app/setup\?code=[^\s\"'<>]+)", self._read(self.stdout_path))
            if match:
                found = match.group(1)
                self._setup_url = found if re.match(r"https?://", found) else urllib.parse.urljoin(self.url, found[found.index("/app/"):])
                return self._setup_url
            time.sleep(0.05)
        raise AssertionError("no line with '/app/setup?code=' on belay's stdout; it printed:\n" + self._read(self.stdout_path))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def belay_options():
    """(extra `belay serve` arguments, extra environment variables) for the `belay` fixture: none. A test module
    that needs a server set up otherwise (a --public-url, an SMTP relay) overrides this fixture."""
    return (), None


@pytest.fixture
def belay(request, screenshot_root, belay_options):
    data = tempfile.mkdtemp(prefix="belay-browser-data-")
    args, env = belay_options
    server = BelayServer(belay_binary(), data, args, env)
    try:
        yield server
    finally:
        server.stop()
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            folder = _test_folder(screenshot_root, request.node)
            for path in (server.stdout_path, server.stderr_path):
                shutil.copy(path, os.path.join(folder, os.path.basename(path)))
        shutil.rmtree(data, ignore_errors=True)


# ---------------------------------------------------------------- browsers and screenshots

def _test_folder(root, node):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name)
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    return folder


def new_chrome():
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    binary = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium")
    if binary:
        options.binary_location = binary
    # An alert stays open (it is what the hostile-text tests look for) and makes the next command fail loudly.
    options.set_capability("unhandledPromptBehavior", "ignore")
    # Network events in the performance log let a test read a page's HTTP status.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver_path = os.environ.get("CHROMEDRIVER_BIN") or shutil.which("chromedriver")
    service = Service(executable_path=driver_path) if driver_path else Service()
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    return driver


class Shooter:
    """`shot(driver, "label")` saves NN-label.png in this test's folder."""

    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    def __call__(self, driver, label):
        self.count += 1
        name = f"{self.count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', label).strip('-')}.png"
        try:
            driver.save_screenshot(os.path.join(self.folder, name))
        except Exception as error:  # an open alert blocks screenshots; the test reports the alert itself
            with open(os.path.join(self.folder, name + ".txt"), "w") as f:
                f.write(f"no screenshot: {error}\n")


@pytest.fixture
def shot(request, screenshot_root):
    return Shooter(_test_folder(screenshot_root, request.node))


@pytest.fixture
def browsers(request, screenshot_root):
    """A factory: `browsers()` starts one more headless Chromium; all are closed at the end."""
    drivers = []

    def start():
        driver = new_chrome()
        drivers.append(driver)
        return driver

    yield start
    rep = getattr(request.node, "rep_call", None)
    failed = rep is not None and rep.failed
    folder = _test_folder(screenshot_root, request.node)
    for index, driver in enumerate(drivers, start=1):
        try:
            if failed:
                try:
                    alert = driver.switch_to.alert
                    with open(os.path.join(folder, f"failure-browser{index}-alert.txt"), "w") as f:
                        f.write(alert.text)
                    alert.dismiss()
                except NoAlertPresentException:
                    pass
                driver.save_screenshot(os.path.join(folder, f"failure-browser{index}.png"))
                with open(os.path.join(folder, f"failure-browser{index}.html"), "w") as f:
                    f.write(f"<!-- {driver.current_url} -->\n" + driver.page_source)
        except Exception:
            pass
        finally:
            driver.quit()


@pytest.fixture
def ui(belay, shot):
    """Helpers bound to this test's server and screenshot folder: `ui.page(driver)`."""
    return lambda driver: Page(driver, belay, shot)


# ---------------------------------------------------------------- page helpers

def xpath_literal(text):
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in text.split("'")) + ")"


def _is_gone(element):
    """Whether the page that held `element` has been replaced (the element went stale)."""
    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:  # mid-navigation, Chromium may say this instead of "stale"
        if isinstance(error, UnexpectedAlertPresentException):
            raise
        if "does not belong to the document" in str(error) or "No node with given id" in str(error):
            return True
        raise


class Page:
    def __init__(self, driver, belay, shot):
        self.d = driver
        self.belay = belay
        self._shot = shot

    # navigation
    def shot(self, label):
        self._shot(self.d, label)

    def go(self, path, label=None):
        self.d.get(path if path.startswith("http") else self.belay.url + path)
        self.wait_ready()
        if label:
            self.shot(label)

    def wait_ready(self):
        WebDriverWait(self.d, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")

    @property
    def path(self):
        return urllib.parse.urlsplit(self.d.current_url).path

    def wait_path(self, pattern, timeout=WAIT):
        regex = re.compile(pattern)
        try:
            WebDriverWait(self.d, timeout).until(lambda d: regex.fullmatch(urllib.parse.urlsplit(d.current_url).path))
        except TimeoutException:
            raise AssertionError(f"expected to be on {pattern}, still on {self.d.current_url}: {self.body_text()[:600]}")
        return regex.fullmatch(self.path)

    # finding
    def el(self, css, within=None):
        return (within or self.d).find_element(By.CSS_SELECTOR, css)

    def els(self, css, within=None):
        return (within or self.d).find_elements(By.CSS_SELECTOR, css)

    def button(self, text, within=None):
        t = xpath_literal(text)
        scope = "." if within is not None else ""
        found = (within or self.d).find_elements(
            By.XPATH, f"{scope}//button[normalize-space()={t}] | {scope}//input[(@type='submit' or @type='button') and @value={t}]")
        if not found:
            raise AssertionError(f"no button {text!r} on {self.d.current_url}")
        return found[0]

    def has_button(self, text, within=None):
        try:
            self.button(text, within)
            return True
        except AssertionError:
            return False

    def form_of(self, button_text):
        return self.button(button_text).find_element(By.XPATH, "./ancestor::form[1]")

    def field(self, name, within=None):
        found = self.els(f"[name='{name}']", within)
        if not found:
            raise AssertionError(f"no field named {name!r} on {self.d.current_url}")
        return found[0]

    def link(self, text, href_path=None):
        found = self.d.find_elements(By.XPATH, f"//a[normalize-space()={xpath_literal(text)}]")
        if href_path is not None:
            want = href_path.rstrip("/") or "/"
            found = [a for a in found if (urllib.parse.urlsplit(a.get_attribute("href") or "").path.rstrip("/") or "/") == want]
        if not found:
            raise AssertionError(f"no link {text!r}" + (f" to {href_path}" if href_path else "") + f" on {self.d.current_url}")
        return found[0]

    def section(self, heading):
        """The section (or other block) headed by `heading`."""
        t = xpath_literal(heading)
        found = self.d.find_elements(By.XPATH, f"//section[.//*[self::h1 or self::h2 or self::h3][normalize-space()={t}]]")
        if found:
            return found[-1]
        raise AssertionError(f"no section headed {heading!r} on {self.d.current_url}")

    def row(self, text, button_text):
        """The innermost row/item that contains `text` and a button `button_text`."""
        t, b = xpath_literal(text), xpath_literal(button_text)
        found = self.d.find_elements(
            By.XPATH,
            f"//*[self::tr or self::li or self::article or self::section or self::div or self::form or self::fieldset]"
            f"[contains(normalize-space(.), {t})][.//button[normalize-space()={b}] or .//input[@type='submit' and @value={b}]]")
        if not found:
            raise AssertionError(f"no row with {text!r} and a {button_text!r} button on {self.d.current_url}")
        return found[-1]

    def text(self, css):
        return self.el(css).text.strip()

    def body_text(self):
        try:
            return self.d.find_element(By.TAG_NAME, "body").text
        except Exception:
            return ""

    def visible_text(self):
        """What a person can read: the page's rendered text and the values in its visible fields."""
        return self.d.execute_script(
            "return document.body.innerText + '\\n' + Array.from(document.querySelectorAll("
            "'input:not([type=hidden]):not([type=password]), textarea')).map(e => e.value).join('\\n');")

    # filling
    def fill(self, name, value, within=None):
        element = self.field(name, within)
        element.clear()
        if value:
            element.send_keys(value)
        return element

    def set_value(self, name, value, within=None):
        """Sets an input (datetime-local, …) through the DOM, as typing such inputs depends on the locale."""
        element = self.field(name, within)
        self.d.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
            "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", element, value)
        assert element.get_attribute("value") == value, f"{name} did not take {value!r}"
        return element

    def choose(self, name, value=None, text=None, within=None):
        """Selects the option with this value (or, failing that, this text); adds to a multi-select."""
        select = Select(self.field(name, within))
        for option in select.options:
            if (value is not None and option.get_attribute("value") == value) or \
                    (value is None and text is not None and option.text.strip() == text):
                select.select_by_index(int(option.get_attribute("index")))
                return select
        if value is not None and text is not None:
            return self.choose(name, text=text, within=within)
        raise AssertionError(f"select {name!r} has no option {value if value is not None else text!r}: "
                             f"{[(o.get_attribute('value'), o.text) for o in select.options]}")

    def check(self, element, on=True):
        if element.is_selected() != on:
            try:
                element.click()
            except (ElementNotInteractableException, ElementClickInterceptedException):
                self.d.execute_script("arguments[0].click();", element)
        assert element.is_selected() == on
        return element

    def option_input(self, name, value, within=None):
        found = self.els(f"input[name='{name}'][value='{value}']", within)
        if not found:
            values = [e.get_attribute("value") for e in self.els(f"input[name='{name}']", within)]
            raise AssertionError(f"no input {name!r} with value {value!r}; values: {values}")
        return found[0]

    def label_of(self, element):
        element_id = element.get_attribute("id")
        if element_id:
            labels = self.els(f"label[for='{element_id}']")
            if labels:
                return labels[0].text.strip()
        try:
            return element.find_element(By.XPATH, "./ancestor::label[1]").text.strip()
        except NoSuchElementException:
            return ""

    # submitting
    def submit(self, button_text, within=None, label=None, navigates=True, accept_dialog=False):
        """Clicks a submit button and, if it navigates (POST then 303), waits for the new page."""
        old = self.d.find_element(By.TAG_NAME, "html")
        button = self.button(button_text, within)
        try:
            button.click()
        except (ElementNotInteractableException, ElementClickInterceptedException):
            self.d.execute_script("arguments[0].click();", button)
        if accept_dialog:
            try:
                WebDriverWait(self.d, 1).until(EC.alert_is_present()).accept()
            except TimeoutException:
                pass
        if navigates:
            try:
                WebDriverWait(self.d, WAIT).until(lambda _: _is_gone(old))
            except TimeoutException:
                invalid = self.d.execute_script(
                    "return Array.from(document.querySelectorAll(':invalid')).filter(e => e.name)"
                    ".map(e => e.name + ': ' + e.validationMessage);")
                raise AssertionError(f"{button_text!r} did not load a new page within {WAIT} s"
                                     + (f"; the browser refused fields {invalid}" if invalid else ""))
            self.wait_ready()
        if label:
            self.shot(label)

    # waiting on content
    def wait_for(self, condition, message, timeout=WAIT):
        def probe(_):
            try:
                return condition()
            except UnexpectedAlertPresentException:
                raise
            except (StaleElementReferenceException, NoSuchElementException, WebDriverException):
                return False  # the page is being replaced
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(probe)
        except TimeoutException:
            raise AssertionError(f"{message} (waited {timeout} s on {self.d.current_url})")

    def wait_text(self, css, expected, timeout=WAIT):
        def current():
            found = self.els(css)
            return found[0].text.strip() if found else None
        self.wait_for(lambda: current() == expected, f"{css} should read {expected!r}, reads {current()!r}", timeout)

    def reload_until(self, path, condition, message, timeout=WAIT):
        """Opens `path`, then reloads it as a person would, until `condition()` holds.

        The public pages are rebuilt just after a change and sent with `Cache-Control: max-age`, so opening
        one again may show the browser's copy; a reload revalidates it (If-None-Match), as pressing F5 does."""
        deadline = time.time() + timeout
        self.go(path)
        while True:
            if condition():
                return
            if time.time() > deadline:
                raise AssertionError(f"{message} (reloaded {path} for {timeout} s)")
            time.sleep(0.25)
            self.d.refresh()
            self.wait_ready()

    # HTTP status of the page, from Chromium's network log
    def drain_network_log(self):
        self.d.get_log("performance")

    def document_statuses(self):
        """(url, status) of every page (document) response since the last call."""
        statuses = []
        for entry in self.d.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.responseReceived" and message["params"].get("type") == "Document":
                response = message["params"]["response"]
                statuses.append((response["url"], response["status"]))
        return statuses

    # the app
    def alert_text(self):
        try:
            return self.d.switch_to.alert.text
        except NoAlertPresentException:
            return None

    def complete_setup(self, name="Dana Admin", email="admin@example.com", password="correct horse battery"):
        self.go(self.belay.setup_url, "setup-form")
        form = self.form_of("Create admin")
        self.fill("name", name, form)
        self.fill("email", email, form)
        self.fill("password", password, form)
        self.submit("Create admin", form, label="after-setup")
        self.wait_path(r"/app/?")
        return email, password

    def sign_in(self, email, password, expect_path=r"/app/?"):
        self.go("/app/sign-in", "sign-in-form")
        form = self.form_of("Sign in")
        self.fill("email", email, form)
        self.fill("password", password, form)
        self.submit("Sign in", form, label="after-sign-in")
        if expect_path:
            self.wait_path(expect_path)

    def sign_out(self):
        self.submit("Sign out", label="after-sign-out")

    def add_component(self, slug, name, group="", description="", depends_on=()):
        if self.path != "/app/components":
            self.go("/app/components")
        form = self.el("#component-form")
        self.fill("slug", slug, form)
        self.fill("name", name, form)
        self.fill("group", group, form)
        self.fill("description", description, form)
        if depends_on:
            assert Select(self.field("dependsOn", form)).is_multiple, "dependsOn should be a multi-select"
            for dep in depends_on:
                self.choose("dependsOn", dep, within=form)
        self.submit("Add component", form, label=f"component-{slug}-added")
        self.wait_path(r"/app/components")

    def declare(self, title, severity="sev2", components=(), impact="partial_outage", message="", commander="",
                communications="", scribe=""):
        self.go("/app/incidents/new", "declare-form")
        form = self.button("Declare incident").find_element(By.XPATH, "./ancestor::form[1]")
        self.fill("title", title, form)
        self.check(self.option_input("severity", severity, form))
        for slug in components:
            self.check(self.option_input("components", slug, form))
        self.choose("impact", impact, within=form)
        self.fill("message", message, form)
        self.fill("commander", commander, form)
        self.fill("communications", communications, form)
        self.fill("scribe", scribe, form)
        self.shot("declare-form-filled")
        self.submit("Declare incident", form, label="declared")
        match = self.wait_path(r"/app/incidents/([^/]+)")
        return match.group(1)

    def post_update(self, message, status=""):
        form = self.el("#update-form")
        self.choose("status", status, within=form)
        box = self.el("#update-message")
        box.clear()
        box.send_keys(message)
        self.submit("Post update", form, navigates=False)
        self.wait_for(lambda: message in self.el("#timeline").text,
                      f"the update {message!r} should appear in #timeline")
        self.wait_ready()

    def invite(self, name, email, role="responder", allow_invalid_email=False):
        self.go("/app/users")
        form = self.el("#invite-form")
        if allow_invalid_email:
            self.d.execute_script("arguments[0].noValidate = true;", form)
        self.fill("name", name, form)
        self.fill("email", email, form)
        self.choose("role", role, within=form)
        self.submit("Invite", form, label="invited")
        found = self.els("#invite-link")
        if not found:
            return None
        element = found[0]
        candidates = [element.text, element.get_attribute("value") or "", element.get_attribute("href") or ""]
        candidates += [a.get_attribute("href") or "" for a in element.find_elements(By.TAG_NAME, "a")]
        for candidate in candidates:
            match = re.search(r"(\S*/app/invite/[^\s\"'<>]+)", candidate)
            if match:
                link = match.group(1)
                return link if link.startswith("http") else urllib.parse.urljoin(self.belay.url, link[link.index("/app/"):])
        raise AssertionError(f"#invite-link holds no /app/invite/ URL: {candidates}")

    def on_server(self, url):
        """The same path and query on the server under test (for links that name another host or port)."""
        parts = urllib.parse.urlsplit(url)
        return self.belay.url + parts.path + (f"?{parts.query}" if parts.query else "")

    def accept_invite(self, link, password):
        self.go(self.on_server(link), "invite-page")
        form = self.form_of("Set password")
        self.fill("password", password, form)
        self.submit("Set password", form, label="password-set")
