"""Driving the app in a real headless Chromium (Debian chromium + chromium-driver): the
end-to-end test and the screenshot script share these steps, so both exercise the app the
way a person does — typing, clicking the sidebar, downloading."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,800")
TIMEOUT = 300  # generous: the first question loads the embedding model in the server


def browser(downloads: Path | None = None) -> webdriver.Chrome:
    """A fresh headless Chromium at 1280×800; files it downloads land in ``downloads``."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='zhifakb-chrome-')}")
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    if downloads is not None:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


def wait_for(driver: webdriver.Chrome, css: str, timeout: float = TIMEOUT) -> WebElement:
    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait_text(driver: webdriver.Chrome, text: str, timeout: float = TIMEOUT) -> None:
    """Until ``text`` is visible somewhere on the page."""
    def shown(d: webdriver.Chrome) -> bool:
        try:
            return text in d.find_element(By.TAG_NAME, "body").text
        except StaleElementReferenceException:
            return False

    WebDriverWait(driver, timeout).until(shown)


def settle(driver: webdriver.Chrome, timeout: float = TIMEOUT) -> None:
    """Until Streamlit has finished the current run (its status widget gone), plus a beat."""
    time.sleep(0.5)
    WebDriverWait(driver, timeout).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']"))
    time.sleep(0.5)


def click_button(driver: webdriver.Chrome, label: str, timeout: float = TIMEOUT) -> None:
    """Click the (first visible) button whose text is ``label``."""
    xpath = f"//button[normalize-space(.)='{label}'] | //button[.//p[normalize-space(.)='{label}']]"
    button = WebDriverWait(driver, timeout).until(ec.element_to_be_clickable((By.XPATH, xpath)))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()


def sign_in(driver: webdriver.Chrome, url: str, username: str, password: str) -> None:
    driver.get(url)
    wait_for(driver, "input[aria-label='用户名']").send_keys(username)
    wait_for(driver, "input[aria-label='密码']").send_keys(password)
    click_button(driver, "登录")
    wait_text(driver, "退出登录")
    settle(driver)


def open_page(driver: webdriver.Chrome, title: str) -> None:
    """Follow the sidebar link ``title`` (a client-side switch: the session stays signed in)."""
    xpath = f"//a[@data-testid='stSidebarNavLink'][.//span[normalize-space(.)='{title}']]"
    link = WebDriverWait(driver, TIMEOUT).until(ec.element_to_be_clickable((By.XPATH, xpath)))
    link.click()
    wait_for(driver, "h1")
    wait_text(driver, title)
    settle(driver)


def ask(driver: webdriver.Chrome, question: str, expect: str) -> float:
    """Type a question; return seconds until ``expect`` is visible in the newest answer."""
    box = wait_for(driver, "textarea[data-testid='stChatInputTextArea']")
    before = len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']"))
    started = time.perf_counter()
    box.send_keys(question, Keys.ENTER)

    def answered(d: webdriver.Chrome) -> bool:
        try:
            messages = d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")
            return len(messages) >= before + 2 and expect in messages[-1].text
        except StaleElementReferenceException:
            return False

    WebDriverWait(driver, TIMEOUT).until(answered)
    return time.perf_counter() - started


def wait_download(folder: Path, suffix: str, timeout: float = 60) -> Path:
    """The first finished download in ``folder`` ending in ``suffix``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if not p.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.2)
    raise TimeoutError(f"no {suffix} file downloaded into {folder} within {timeout}s")
