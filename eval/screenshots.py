"""Screenshots of every page at 1280×800 in headless Chromium, signed in as the role that
uses it, and the time from submitting a question to the first visible answer text.

    KB_DATA_DIR=/tmp/kbshots kb ingest ../shared/corpus/sample && KB_DATA_DIR=/tmp/kbshots kb demo
    KB_DATA_DIR=/tmp/kbshots python -m eval.screenshots docs/screenshots

The app is started here as a real server process on that data (see eval/serve.py).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from eval.browser import ask, browser, click_button, open_page, settle, sign_in, wait_text
from eval.serve import serving
from kb.records.demo import DEMO_PASSWORD

QUESTIONS = ["哪些情形执法人员可以当场收缴罚款？", "行政处罚的听证程序是怎样的", "当事人逾期不缴纳罚款怎么办",
             "执法人员调查时应当出示什么", "行政处罚决定书应当载明哪些事项"]


def shoot(driver, folder: Path, name: str) -> None:
    settle(driver)
    time.sleep(1)
    driver.save_screenshot(str(folder / f"{name}.png"))
    print(f"  {name}.png")


def main(out: str) -> int:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    env = {"KB_DATA_DIR": os.environ.get("KB_DATA_DIR", "data")}
    with serving(env) as server:
        url = server.url
        driver = browser()
        try:
            driver.get(url)
            wait_text(driver, "执法知库 · 登录")
            shoot(driver, folder, "login")
            sign_in(driver, url, "demo.officer1", DEMO_PASSWORD)
            shoot(driver, folder, "ask-empty")
            seconds = [ask(driver, q, "[1]") for q in QUESTIONS[:1]]
            shoot(driver, folder, "ask-answer")
            seconds += [ask(driver, q, "回答方式") for q in QUESTIONS[1:]]
            ask(driver, "护照怎么办理", "知识库中未找到相关依据")
            shoot(driver, folder, "ask-abstain")
            open_page(driver, "法规库")
            shoot(driver, folder, "library")
            open_page(driver, "学习与考试")
            shoot(driver, folder, "study")
            open_page(driver, "我的账户")
            shoot(driver, folder, "account")
            for username, pages in (("demo.trainer", ["题库审核", "情景演练编辑"]), ("demo.coord", ["学时统计"]),
                                    ("admin", ["管理"])):
                click_button(driver, "退出登录")
                password = os.environ.get("KB_ADMIN_PASSWORD", "") if username == "admin" else DEMO_PASSWORD
                if not password:
                    print("  (set KB_ADMIN_PASSWORD to the admin's password to shoot 管理)")
                    continue
                sign_in(driver, url, username, password)
                for title in pages:
                    open_page(driver, title)
                    shoot(driver, folder, {"题库审核": "review", "情景演练编辑": "drill-editor", "学时统计": "hours",
                                           "管理": "admin"}[title])
        finally:
            driver.quit()
        peak = server.peak_rss_mib()
    print(f"app server process (Streamlit, model and store loaded, 4 users' sessions): peak RSS {peak:.0f} MiB")
    print(f"question → first visible answer text over {len(seconds)} questions: "
          f"median {statistics.median(seconds):.2f}s, max {max(seconds):.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
