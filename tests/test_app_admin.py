"""The 管理 page in AppTest over the demo site: uploading and ingesting documents through the
app's own store handle (问答 sees them at once), bad files refused in Chinese with nothing else
changed, removal with confirmation, users imported all-or-none, units."""

from __future__ import annotations

pytest_plugins = ["tests.app_site"]

NOTICE = """---
title: "示范市市场监管行政处罚裁量基准"
doc_type: policy
issuer: "示范市市场监督管理局"
promulgated: "2026-01-15"
---

# 示范市市场监管行政处罚裁量基准

一、为规范本市市场监管部门行使行政处罚裁量权，根据《中华人民共和国行政处罚法》，制定本基准。

二、当事人首次违法且危害后果轻微并及时改正的，可以不予行政处罚。

三、执法人员应当在作出处罚决定前告知当事人拟作出的处罚内容及事实、理由、依据。
"""


def upload(at, key: str, *files: tuple[str, bytes]):
    widget = at.file_uploader(key=key)
    for name, data in files:
        widget.upload(name, data, "application/octet-stream")
    return at.run()


def documents(site) -> dict[str, int]:
    """What the app's retriever holds now (the handle 问答 and 法规库 search through)."""
    from app.resources import answerer

    return {d.key: d.chunks for d in answerer().retriever.documents}


def uploads_dir(site):
    return site.data_dir / "uploads"


def test_only_admins_may_open_it(site):
    at = site.app("demo.coord", file="views/admin.py")
    assert "无权访问此页面" in at.error[0].value and not at.file_uploader


def test_an_uploaded_document_is_ingested_listed_and_answerable_at_once(site):
    at = site.app("admin", "views/admin.py")
    assert not at.exception and at.title[0].value == "管理"
    before = documents(site)
    upload(at, "admin_upload", ("示范市市场监管行政处罚裁量基准(2026-01-15).md", NOTICE.encode()))
    at.button(key="admin_upload_go").click().run()
    assert not at.exception, at.exception
    assert "成功处理 1 个文件：新增 1" in at.success[0].value
    after = documents(site)
    assert set(after) - set(before) == {"示范市市场监管行政处罚裁量基准@2026-01-15"}
    assert after["示范市市场监管行政处罚裁量基准@2026-01-15"] >= 3
    assert (uploads_dir(site) / "示范市市场监管行政处罚裁量基准(2026-01-15).md").read_text() == NOTICE
    listed = next(d.value for d in at.dataframe if "文件键" in d.value.columns and "效力" in d.value.columns)
    assert "示范市市场监管行政处罚裁量基准" in set(listed["标题"])

    ask = site.app("demo.officer1")  # the same process: 问答 searches the new document without a restart
    ask.chat_input[0].set_value("市场监管首次违法危害后果轻微并及时改正的可以不予行政处罚吗").run()
    assert "示范市市场监管行政处罚裁量基准" in " ".join(e.label for e in ask.expander)

    upload(at, "admin_upload", ("示范市市场监管行政处罚裁量基准(2026-01-15).md", NOTICE.encode()))
    at.button(key="admin_upload_go").click().run()
    assert "未变化 1" in at.success[0].value and documents(site) == after


def test_an_empty_file_and_a_corrupt_pdf_are_refused_in_chinese_and_change_nothing(site):
    at = site.app("admin", "views/admin.py")
    before = documents(site)
    files_before = sorted(p.name for p in uploads_dir(site).glob("*")) if uploads_dir(site).exists() else []
    upload(at, "admin_upload", ("空白通知.txt", b""), ("损坏的办法.pdf", b"%PDF-1.7\n1 0 obj <<\n%%garbage"),
           ("乱码.txt", bytes(range(256)) * 4))
    at.button(key="admin_upload_go").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("空白通知.txt：文件为空") for e in errors), errors
    assert any(e.startswith("损坏的办法.pdf：PDF 文件已损坏") for e in errors), errors
    assert any(e.startswith("乱码.txt：") and ("二进制" in e or "编码" in e) for e in errors), errors
    assert not at.success
    assert documents(site) == before
    assert sorted(p.name for p in uploads_dir(site).glob("*")) == files_before  # failed files are not kept


def test_a_file_over_the_size_limit_is_refused_before_it_is_written(site):
    from streamlit import config

    at = site.app("admin", "views/admin.py")
    assert int(config.get_option("server.maxUploadSize")) == 50  # .streamlit/config.toml
    assert "不超过 50 MB" in at.markdown[0].value
    config.set_option("server.maxUploadSize", 1)  # a 200 MB upload, scaled down
    try:
        upload(at, "admin_upload", ("大文件.md", NOTICE.encode() + b"x" * (1024 * 1024)))
        at.button(key="admin_upload_go").click().run()
    finally:
        config.set_option("server.maxUploadSize", 50)
    assert "文件过大" in at.error[0].value and "不能超过 1 MB" in at.error[0].value
    assert not (uploads_dir(site) / "大文件.md").exists()


def test_a_file_name_with_a_path_is_refused(site):
    at = site.app("admin", "views/admin.py")
    upload(at, "admin_upload", ("../../逃逸.md", NOTICE.encode()))
    at.button(key="admin_upload_go").click().run()
    assert "文件名无效" in at.error[0].value
    assert not (site.data_dir / "逃逸.md").exists() and not (site.data_dir.parent / "逃逸.md").exists()


def test_removal_asks_for_confirmation_first(site):
    key = "示范市市场监管行政处罚裁量基准@2026-01-15"
    at = site.app("admin", "views/admin.py")
    assert key in documents(site)
    at.selectbox(key="admin_doc").set_value(key)
    at.button(key="admin_remove").click().run()
    assert "确认删除" in at.warning[0].value and key in documents(site)
    at.button(key="admin_remove_no").click().run()
    assert not at.warning and key in documents(site)
    at.selectbox(key="admin_doc").set_value(key)
    at.button(key="admin_remove").click().run()
    at.button(key="admin_remove_yes").click().run()
    assert not at.exception and "已删除" in at.success[0].value
    assert key not in documents(site)
    from sqlalchemy import select

    from kb.records.models import AuditEntry

    with site.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.action.like("documents.%")))]
    assert "documents.upload" in actions and "documents.remove" in actions


def test_a_users_csv_with_one_bad_row_imports_nobody_and_names_the_line(site):
    from kb.records.people import list_users

    at = site.app("admin", "views/admin.py")
    csv = ("用户名,姓名,角色,单位代码,执法证号,执法领域,密码\n"
           "new.one,新同事甲,officer,440103,,市场监管,\n"
           "new.two,新同事乙,officer,999999,,市场监管,\n")  # line 3: no such unit
    upload(at, "admin_users_csv", ("人员.csv", csv.encode()))
    at.button(key="admin_users_import").click().run()
    assert not at.exception
    assert "导入未执行" in at.error[0].value
    problems = next(d.value for d in at.dataframe if "行号" in d.value.columns)
    assert list(problems["行号"]) == [3] and "未知单位" in problems["问题"].iloc[0]
    from kb.records.models import Operator

    with site.session() as s:
        assert not {"new.one", "new.two"} & {u.username for u in list_users(s, Operator("test"))}

    fixed = csv.replace("999999", "440100")
    at.file_uploader(key="admin_users_csv").clear().upload("人员.csv", fixed.encode(), "text/csv").run()
    at.button(key="admin_users_import").click().run()
    assert not at.exception and "已导入 2 个用户" in at.success[0].value
    shown = next(d.value for d in at.dataframe if "初始密码" in d.value.columns)
    assert list(shown["用户名"]) == ["new.one", "new.two"]
    assert at.download_button(key="admin_generated_download")
    at.button(key="admin_generated_hide").click().run()
    assert not any("初始密码" in d.value.columns for d in at.dataframe)
    from kb.records.auth import authenticate

    with site.session() as s:  # the password shown is the one that works
        assert authenticate(s, "new.one", shown["初始密码"].iloc[0]).must_change_password


def test_units_and_a_password_reset(site):
    at = site.app("admin", "views/admin.py")
    at.text_input(key="admin_unit_code").set_value("440104")
    at.text_input(key="admin_unit_name").set_value("示范越秀区执法局")
    at.selectbox(key="admin_unit_parent").set_value("440100")
    next(b for b in at.button if b.label == "添加单位").click().run()
    assert not at.exception and "已添加单位" in at.success[0].value
    units = next(d.value for d in at.dataframe if "单位代码" in d.value.columns)
    assert "440104" in set(units["单位代码"])
    at.text_input(key="admin_unit_code").set_value("440104")
    at.text_input(key="admin_unit_name").set_value("重复")
    next(b for b in at.button if b.label == "添加单位").click().run()
    assert "已存在" in at.error[0].value

    at.selectbox(key="admin_reset_user").set_value("demo.officer3")
    next(b for b in at.button if b.label == "生成新密码并解锁").click().run()
    password = at.code[0].value
    from kb.records.auth import authenticate

    with site.session() as s:
        assert authenticate(s, "demo.officer3", password).must_change_password


def test_an_admin_resetting_their_own_password_stays_signed_in_here(site):
    at = site.app("admin", "views/admin.py")
    at.selectbox(key="admin_reset_user").set_value("admin")
    next(b for b in at.button if b.label == "生成新密码并解锁").click().run()
    assert not at.exception and at.code[0].value
    at.run()  # the next click: this browser got a new sign-in; any other browser of theirs is out
    assert at.title[0].value == "管理"


def test_a_deactivated_officer_is_signed_out_at_the_next_click(site):
    officer = site.app("demo.officer2")
    assert officer.title[0].value == "智能问答"
    at = site.app("admin", "views/admin.py")
    at.selectbox(key="admin_active_user").set_value("demo.officer2")
    at.radio(key="admin_active_state").set_value(False)
    next(b for b in at.button if b.label == "确定").click().run()
    assert not at.exception and "已停用" in at.success[0].value
    officer.run()
    assert officer.title[0].value == "执法知库 · 登录" and "已停用" in officer.warning[0].value
