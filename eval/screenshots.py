"""Screenshots of the app's pages at 1280×800 in headless Chromium (Debian chromium +
chromium-driver), for the README and docs/screenshots/.

    python -m eval.screenshots http://localhost:8501 docs/screenshots
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,800")


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='zhifakb-chrome-')}")
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def wait_for(driver: webdriver.Chrome, css: str, timeout: float = 120):
    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def ask(driver: webdriver.Chrome, question: str, expect: str) -> float:
    """Type a question; return seconds until ``expect`` is visible in the newest answer."""
    box = wait_for(driver, "textarea[data-testid='stChatInputTextArea']")
    before = len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']"))
    started = time.perf_counter()
    box.send_keys(question, Keys.ENTER)

    def answered(d: webdriver.Chrome) -> bool:
        messages = d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")
        return len(messages) >= before + 2 and expect in messages[-1].text

    WebDriverWait(driver, 120).until(answered)
    return time.perf_counter() - started


def main(url: str, out: str) -> int:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    driver = browser()
    try:
        driver.get(url)
        wait_for(driver, "textarea[data-testid='stChatInputTextArea']")
        time.sleep(1)
        driver.save_screenshot(str(folder / "ask-empty.png"))
        seconds = ask(driver, "哪些情形执法人员可以当场收缴罚款？", "[1]")
        time.sleep(1.5)
        driver.save_screenshot(str(folder / "ask-answer.png"))
        print(f"question → first visible answer text: {seconds:.2f}s")
        ask(driver, "护照怎么办理", "知识库中未找到相关依据")
        time.sleep(1.5)
        driver.save_screenshot(str(folder / "ask-abstain.png"))
        driver.get(url.rstrip("/") + "/search")
        box = wait_for(driver, "[data-testid='stTextInput'] input")
        box.send_keys("处罚法第三十三条", Keys.ENTER)
        cited = "《中华人民共和国行政处罚法》第三十三条"
        WebDriverWait(driver, 60).until(lambda d: cited in d.find_element(By.TAG_NAME, "body").text)
        time.sleep(1.5)
        driver.save_screenshot(str(folder / "search.png"))
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*(sys.argv[1:3] if len(sys.argv) > 2 else ("http://localhost:8501", "docs/screenshots"))))
