"""管理 (admins): the knowledge base's documents (upload, ingest, replace, remove), users and units.

Documents are ingested inside the app's process through the store handle the app already
holds (``answerer().retriever.store``): Qdrant Edge allows one holder per folder, so a second
handle would fail while the app runs. After every change the retriever re-reads its document
list, so 问答 and 法规库 see it at the next question. One ingest or removal runs at a time
(a process-wide lock); a second admin is asked to wait rather than queued behind a long PDF.

Uploaded files are kept under ``<data dir>/uploads/`` with their original names, because
ingest reads metadata (title, version) from the name when the file does not declare it. A file
that fails to ingest is not kept, and a failed replacement restores the file it overwrote.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from app.page import run_page
from app.resources import answerer, settings
from app.signin import sign_in_as
from app.view import ROLE_ZH, flash, show_flash, status_zh, zh
from ingest.loaders.decoding import BINARY, EMPTY, UNDECODABLE
from ingest.loaders.docx_text import CORRUPT as DOCX_CORRUPT
from ingest.loaders.docx_text import ENCRYPTED as DOCX_ENCRYPTED
from ingest.loaders.pdf_text import CORRUPT as PDF_CORRUPT
from ingest.loaders.pdf_text import ENCRYPTED as PDF_ENCRYPTED
from ingest.loaders.pdf_text import NO_TEXT, UNREADABLE
from ingest.pipeline import SUFFIXES, FileResult, Ingestor
from ingest.sparse_refresh import sync_sparse
from kb.embed import CachedEmbedder, EmbeddingCache
from kb.errors import KBError
from kb.library import list_documents, remove_document
from kb.records import audit
from kb.records.errors import ImportRejected, RecordsError
from kb.records.models import ROLES, User, utcnow
from kb.records.people import UserSpec, add_user, import_users_csv, list_users, reset_password, set_active
from kb.records.questions import flag_changed_in_store
from kb.records.units import add_unit, list_units

FLASH = "admin_flash"
CONFIRM_REMOVE = "admin_confirm_remove"
GENERATED = "admin_generated"  # passwords an import generated, shown (to that admin) until hidden
UPLOAD_TYPES = sorted(s.lstrip(".") for s in SUFFIXES)
DOC_TYPE_ZH = {"law": "法律", "regulation": "行政法规", "rule": "部门规章", "interpretation": "司法解释",
               "policy": "政策文件", "plan": "实施方案", "case": "典型案例", "scenario": "执法情景"}
STATUS_ZH = {"added": "新增", "replaced": "已替换", "unchanged": "未变化（内容相同，已跳过）", "failed": "失败"}
USER_COLUMN_ZH = {"username": "用户名", "display_name": "姓名", "role": "角色", "unit": "单位代码",
                  "cert_no": "执法证号", "fields": "执法领域", "password": "密码"}
# The loaders' one-line reasons (English, for the CLI's log) in Chinese for the page, most
# specific first; matched as substrings of FileResult.message ("<path>: <reason>").
REASONS_ZH: list[tuple[str, str]] = [
    (PDF_ENCRYPTED, "PDF 文件已加密，请去除密码后重新上传"),
    (PDF_CORRUPT, "PDF 文件已损坏或不完整，请重新导出或下载后上传"),
    (NO_TEXT, "PDF 没有文字层（可能是扫描件），请先进行文字识别（OCR）后再上传"),
    (UNREADABLE, "PDF 的文字无法识别（字体缺少编码映射），请先进行文字识别（OCR）后再上传"),
    (DOCX_ENCRYPTED, "DOCX 文件设有密码（或是旧版 .doc），请去除密码并另存为 .docx 后上传"),
    (DOCX_CORRUPT, "DOCX 文件已损坏或不是 Word 文档，请用 Word 打开后另存为 .docx 再上传"),
    ("no text left after front matter and markup", "文件没有正文（除文件头和标记外为空）"),
    (EMPTY, "文件为空"),
    (UNDECODABLE, "无法识别文件编码（不是 UTF-8、GB18030 或 UTF-16），请另存为 UTF-8 编码后上传"),
    (BINARY, "这是二进制文件，不是文本文档"),
    ("front matter is not", "文件头（YAML front matter）格式错误，请修正或删除后上传"),
    ("unsupported file type", "不支持的文件类型"),
    ("no text to index was found", "未找到可收录的正文，请确认文件包含文件正文"),
    ("in this run", "与本次上传的另一个文件内容相同，只需上传其中一个"),
    ("already in the knowledge base", "与知识库中已有的文件内容完全相同；如要替换，请先删除原文件"),
    ("cannot read this", "文件无法读取，请重新保存后再上传"),
]


@st.cache_resource(show_spinner=False)
def _lock() -> threading.Lock:
    """One ingest or removal at a time in this process (they share one store handle)."""
    return threading.Lock()


def _flash(message: str) -> None:
    """Show ``message`` after the rerun that follows a change (so every list includes it)."""
    flash(FLASH, message)
    st.rerun()


def _clear(prefix: str) -> None:
    """Empty a form after it succeeded; a refused one keeps what was typed, to correct it."""
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]


def reason_zh(message: str) -> str:
    """The Chinese reason for a failed file (the loader's English reason otherwise kept)."""
    for english, chinese in REASONS_ZH:
        if english in message:
            same_as = re.search(r"same content as (\S+)", message)
            return f"{chinese}（{same_as[1]}）" if same_as and "already" in message else chinese
    return f"导入失败：{message}"


@dataclass
class UploadOutcome:
    """What became of one uploaded file."""

    name: str
    status: str  # added | replaced | unchanged | failed
    doc_key: str = ""
    chunks: int = 0
    reason: str = ""  # Chinese, for a failed file

    @property
    def row(self) -> dict[str, object]:
        return {"文件": self.name, "结果": STATUS_ZH.get(self.status, self.status), "文件键": self.doc_key,
                "条文块数": self.chunks if self.status != "failed" else None, "说明": self.reason}


def upload_limit_mb() -> int:
    """The per-file limit: the server's own (``server.maxUploadSize``, .streamlit/config.toml)."""
    return int(st.get_option("server.maxUploadSize"))


def check_upload(name: str, data: bytes, limit_mb: int) -> str | None:
    """Why this upload cannot be taken as is (in Chinese), or None."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base.startswith(".") or base != name:
        return "文件名无效：请使用不含路径、不以「.」开头的文件名"
    if Path(base).suffix.lower() not in SUFFIXES:
        return f"不支持的文件类型，请上传 {'、'.join(UPLOAD_TYPES)} 文件"
    if len(data) > limit_mb * 1024 * 1024:
        return f"文件过大（{len(data) / 1024 / 1024:.1f} MB），单个文件不能超过 {limit_mb} MB；请拆分或压缩后上传"
    return None


def ingest_uploads(files: Sequence[tuple[str, bytes]], folder: Path,
                   on_file: Callable[[int, int, str], None] | None = None) -> list[UploadOutcome]:
    """Save and ingest uploaded files (name, bytes), one result per file in the given order.

    Refused files (name, type, size) are never written; a file that fails to ingest is
    deleted again, or, if it overwrote an earlier upload of the same name, that one is put
    back. Runs under the process-wide lock; raises KBError if another ingest is running.
    """
    limit = upload_limit_mb()
    outcomes: dict[int, UploadOutcome] = {}
    accepted: list[tuple[int, str, bytes]] = []
    for i, (name, data) in enumerate(files):
        problem = check_upload(name, data, limit)
        if problem:
            outcomes[i] = UploadOutcome(name, "failed", reason=problem)
        elif any(name == other for _, other, _ in accepted):
            outcomes[i] = UploadOutcome(name, "failed", reason="本次上传中有同名文件，只保留第一个")
        else:
            accepted.append((i, name, data))
    if accepted:
        lock = _lock()
        if not lock.acquire(blocking=False):
            raise KBError("另一位管理员正在导入或删除文件，请稍后再试。")
        try:
            _ingest_locked(accepted, folder, outcomes, on_file)
        finally:
            lock.release()
    return [outcomes[i] for i in range(len(files))]


def _ingest_locked(accepted: list[tuple[int, str, bytes]], folder: Path, outcomes: dict[int, UploadOutcome],
                   on_file: Callable[[int, int, str], None] | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    previous: dict[Path, bytes | None] = {}
    by_path: dict[str, int] = {}
    for i, name, data in accepted:
        target = folder / name
        previous[target] = target.read_bytes() if target.exists() else None
        target.write_bytes(data)
        by_path[str(target)] = i
    retriever = answerer().retriever
    s = settings()
    cache = EmbeddingCache(s.cache_path)

    def progress(result: FileResult, index: int, total: int) -> None:
        if on_file:
            on_file(index, total, Path(result.path).name)

    try:
        ingestor = Ingestor(s, store=retriever.store, embedder=CachedEmbedder(retriever.embedder, cache, s.embed_batch))
        report = ingestor.ingest([folder / name for _, name, _ in accepted], on_file=progress)
    except BaseException:  # not a bad file but a broken run: keep no file it may not have indexed
        for path in previous:
            _restore(path, previous[path])
        raise
    finally:
        cache.close()
        retriever.reload_names()
    for result in report.results:
        i = by_path[result.path]
        path = Path(result.path)
        if result.status == "failed":
            outcomes[i] = UploadOutcome(path.name, "failed", reason=reason_zh(result.message))
            _restore(path, previous[path])
        else:
            outcomes[i] = UploadOutcome(path.name, result.status, result.doc_key, result.chunks)


def _restore(path: Path, old: bytes | None) -> None:
    """Put back what was at ``path`` before this upload (nothing, or the earlier file)."""
    if old is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(old)


def _audit_uploads(db: Session, user: User, files: Sequence[tuple[str, bytes]], outcomes: list[UploadOutcome]
                   ) -> None:
    """Who put which file into the knowledge base (or tried to), in the records' audit log."""
    for (_, data), o in zip(files, outcomes, strict=True):
        audit.record(db, user, "documents.upload", f"file:{o.name}"[:200], {
            "status": o.status, "doc_key": o.doc_key, "chunks": o.chunks, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "reason": o.reason})
    db.commit()


def _run_upload(db: Session, user: User, files: Sequence[tuple[str, bytes]]) -> list[UploadOutcome]:
    bar = st.progress(0.0, text=f"正在导入 {len(files)} 个文件…")

    def on_file(index: int, total: int, name: str) -> None:
        bar.progress(index / total, text=f"已处理 {index}/{total}：{name}")

    outcomes = ingest_uploads(files, settings().data_dir / "uploads", on_file)
    bar.progress(1.0, text="处理完成")
    _audit_uploads(db, user, files, outcomes)
    if any(o.status in ("added", "replaced") for o in outcomes):
        _flag_questions(db, user)
    return outcomes


def _flag_questions(db: Session, user: User) -> None:
    """Questions whose source text is no longer in force go back to trainers (题库审核)."""
    flagged = flag_changed_in_store(db, user, answerer().retriever.store)
    if flagged:
        st.warning(f"{len(flagged)} 道题目引用的条文已变化或已删除，已标记待教员在「题库审核」中复核。")


def show_outcomes(outcomes: list[UploadOutcome]) -> None:
    ok = [o for o in outcomes if o.status != "failed"]
    failed = [o for o in outcomes if o.status == "failed"]
    if ok:
        n = {status: sum(o.status == status for o in ok) for status in ("added", "replaced", "unchanged")}
        st.success(f"成功处理 {len(ok)} 个文件：新增 {n['added']}，替换 {n['replaced']}，未变化 {n['unchanged']}。")
    for o in failed:
        st.error(f"{o.name}：{o.reason}")
    st.dataframe(pd.DataFrame([o.row for o in outcomes]), hide_index=True, width="stretch")


def upload_tab(db: Session, user: User) -> None:
    limit = upload_limit_mb()
    st.markdown(f"支持 {'、'.join(UPLOAD_TYPES)} 文件，可一次选择多个，单个文件不超过 {limit} MB。"
                "文件名中的标题和日期会作为文件信息（如「中华人民共和国行政处罚法(2021-01-22).md」）；"
                "Markdown 文件也可在文件头（YAML）中写明 title、doc_type、promulgated 等。")
    uploads = st.file_uploader("选择文件", type=UPLOAD_TYPES, accept_multiple_files=True, key="admin_upload")
    if st.button("上传并导入", type="primary", key="admin_upload_go", disabled=not uploads) and uploads:
        show_outcomes(_run_upload(db, user, [(u.name, u.getvalue()) for u in uploads]))


def documents_tab(db: Session, user: User) -> None:
    retriever = answerer().retriever
    docs = list_documents(retriever.store)
    st.caption(f"知识库共 {len(docs)} 件文件，{sum(d.chunks for d in docs)} 个条文块。")
    if retriever.background is not None:
        st.caption(f"参照库（判断问题是否超出知识库范围，并提示可能涉及的未收录文件）：{retriever.background.where}，"
                   f"{retriever.background.document_count} 件文件。")
    if not docs:
        return
    st.dataframe(pd.DataFrame([{
        "标题": d.title, "类型": DOC_TYPE_ZH.get(d.doc_type, d.doc_type), "版本": d.version,
        "效力": status_zh(d.status), "条文块数": d.chunks, "文件键": d.key, "来源文件": Path(d.source_path).name,
        "导入时间": d.payload.get("ingested_at", ""),
    } for d in docs]), hide_index=True, width="stretch")
    labels = {d.key: f"{d.title}（{d.version or '无版本'} · {status_zh(d.status)}）" for d in docs}
    chosen = st.selectbox("选择文件", list(labels), format_func=labels.get, key="admin_doc")
    replace_col, remove_col = st.columns(2)
    with replace_col:
        st.markdown("**替换（上传新版本）**")
        st.caption("标题和版本相同则替换原内容；版本不同则作为新版本收录，原版本自动标记为「已被修订」。")
        new = st.file_uploader("新版本文件", type=UPLOAD_TYPES, key="admin_replace_file")
        if st.button("上传新版本", key="admin_replace_go", disabled=new is None) and new is not None:
            outcomes = _run_upload(db, user, [(new.name, new.getvalue())])
            show_outcomes(outcomes)
            if outcomes[0].status != "failed" and outcomes[0].doc_key != chosen:
                st.info(f"新文件收录为「{outcomes[0].doc_key}」，与所选的「{chosen}」不是同一文件键；"
                        "如原文件已不再需要，可在右侧删除。")
    with remove_col:
        st.markdown("**删除**")
        st.caption("删除后问答和法规库将不再引用该文件。")
        if st.button("删除所选文件", key="admin_remove", icon=":material/delete:"):
            st.session_state[CONFIRM_REMOVE] = chosen
        pending = st.session_state.get(CONFIRM_REMOVE)
        if pending:
            st.warning(f"确认删除「{labels.get(pending, pending)}」？此操作不可撤销。")
            yes, no = st.columns(2)
            if yes.button("确认删除", type="primary", key="admin_remove_yes"):
                st.session_state.pop(CONFIRM_REMOVE, None)
                _remove(db, user, pending)
            if no.button("取消", key="admin_remove_no"):
                st.session_state.pop(CONFIRM_REMOVE, None)
                st.rerun()


def _remove(db: Session, user: User, doc_key: str) -> None:
    retriever = answerer().retriever
    lock = _lock()
    if not lock.acquire(blocking=False):
        st.error("另一位管理员正在导入或删除文件，请稍后再试。")
        return
    try:
        chunks = remove_document(retriever.store, doc_key)
        sync_sparse(retriever.store)
    except KBError:
        st.error(f"文件「{doc_key}」已不在知识库中（可能已被他人删除）。")
        return
    finally:
        retriever.reload_names()
        lock.release()
    audit.record(db, user, "documents.remove", f"doc:{doc_key}"[:200], {"chunks": chunks})
    db.commit()
    _flag_questions(db, user)
    _flash(f"已删除「{doc_key}」（{chunks} 个条文块）。")




def users_tab(db: Session, user: User) -> None:
    now = utcnow()
    people = list_users(db, user)
    st.dataframe(pd.DataFrame([{
        "用户名": u.username, "姓名": u.display_name, "角色": ROLE_ZH.get(u.role, u.role),
        "单位": u.unit.path if u.unit else "", "执法证号": u.cert_no or "", "执法领域": "、".join(u.fields),
        "状态": "已停用" if not u.active else "已锁定" if u.locked_until and u.locked_until > now else "正常",
        "须修改密码": "是" if u.must_change_password else "",
    } for u in people]), hide_index=True, width="stretch")
    units = list_units(db, user)
    unit_labels = {"": "（无单位）", **{u.code: f"{u.path}（{u.code}）" for u in units}}
    with st.expander("添加用户"), st.form("admin_add_user"):
        username = st.text_input("用户名（小写字母、数字或 . _ -）", max_chars=64, key="admin_new_username")
        name = st.text_input("姓名", max_chars=100, key="admin_new_name")
        role = st.selectbox("角色", ROLES, format_func=lambda r: ROLE_ZH.get(r, r), key="admin_new_role")
        unit = st.selectbox("单位（执法人员和学时管理员必填）", list(unit_labels), format_func=unit_labels.get,
                            key="admin_new_unit")
        cert = st.text_input("执法证号（可不填）", max_chars=32, key="admin_new_cert")
        fields = st.text_input("执法领域（多个用「、」分隔）", max_chars=200, key="admin_new_fields")
        password = st.text_input("初始密码（至少 10 位，须含字母和数字）", type="password", max_chars=128,
                                 key="admin_new_password")
        if st.form_submit_button("添加", type="primary"):
            try:
                made = add_user(db, user, UserSpec(username, name, role, unit or None, cert or None, fields, password))
            except RecordsError as exc:
                st.error(zh(exc))
            else:
                _clear("admin_new_")
                _flash(f"已添加用户 {made.username}（{ROLE_ZH.get(made.role, made.role)}）。")
    generated: dict[str, str] = st.session_state.get(GENERATED, {}).get(user.id, {})
    with st.expander("从 CSV 批量导入用户", expanded=bool(generated)):
        st.markdown("列：**用户名, 姓名, 角色, 单位代码, 执法证号, 执法领域, 密码**（前三列必填；密码留空则自动生成，"
                    "用户首次登录须修改）。全部导入或全部不导入：任何一行有误，整份文件都不导入，并列出出错的行号。")
        upload = st.file_uploader("选择 CSV 文件", type=["csv"], key="admin_users_csv")
        if st.button("导入用户", type="primary", key="admin_users_import", disabled=upload is None) and upload:
            try:
                result = import_users_csv(db, user, upload.getvalue(), name=upload.name)
            except ImportRejected as exc:
                st.error(f"导入未执行（全部导入或全部不导入）：{len({e.line for e in exc.errors})} 行有问题，"
                         "请修正后重新导入。")
                st.dataframe(pd.DataFrame([{"行号": e.line, "列": USER_COLUMN_ZH.get(e.column, e.column),
                                            "问题": zh(Exception(e.message))} for e in exc.errors]),
                             hide_index=True, width="stretch")
            except RecordsError as exc:
                st.error(zh(exc))
            else:
                # keyed by the admin: sign-out does not clear admin_ keys, the next person must not see them
                st.session_state[GENERATED] = {user.id: result.generated_passwords}
                _flash(f"已导入 {len(result.created)} 个用户。")
        if generated:
            st.warning("以下为自动生成的初始密码，只显示这一次，请下载或抄录后交给本人（首次登录须修改）。")
            st.dataframe(pd.DataFrame([{"用户名": k, "初始密码": v} for k, v in generated.items()]),
                         hide_index=True, width="stretch")
            text = "用户名,初始密码\r\n" + "".join(f"{k},{v}\r\n" for k, v in generated.items())
            st.download_button("下载初始密码（CSV）", text.encode("utf-8-sig"), file_name="初始密码.csv",
                               mime="text/csv", on_click="ignore", key="admin_generated_download")
            if st.button("我已保存，隐藏密码", key="admin_generated_hide"):
                st.session_state.pop(GENERATED, None)
                st.rerun()
    with st.expander("重置密码"), st.form("admin_reset"):
        who = st.selectbox("用户", [u.username for u in people], key="admin_reset_user")
        if st.form_submit_button("生成新密码并解锁"):
            try:
                password = reset_password(db, user, who)
            except RecordsError as exc:
                st.error(zh(exc))
            else:
                if who == user.username:  # the reset ended one's own sign-ins too: keep this browser's
                    sign_in_as(db, user)
                st.success(f"{who} 的新密码（只显示这一次，用户登录后须修改）：")
                st.code(password, language=None)
    with st.expander("停用或恢复账户"), st.form("admin_active"):
        who = st.selectbox("用户", [u.username for u in people], key="admin_active_user")
        active = st.radio("状态", [False, True], format_func=lambda a: "恢复使用" if a else "停用",
                          horizontal=True, key="admin_active_state")
        if st.form_submit_button("确定"):
            try:
                changed = set_active(db, user, who, active)
            except RecordsError as exc:
                st.error(zh(exc))
            else:
                st.success(f"{changed.username} 已{'恢复使用' if changed.active else '停用'}；学时与答题记录保留不变。")


def units_tab(db: Session, user: User) -> None:
    units = list_units(db, user)
    st.dataframe(pd.DataFrame([{
        "单位代码": u.code, "单位名称": u.name, "上级单位": u.parent.name if u.parent else "", "完整路径": u.path,
    } for u in units]), hide_index=True, width="stretch")
    parents = {"": "（无上级，顶级单位）", **{u.code: f"{u.path}（{u.code}）" for u in units}}
    with st.form("admin_add_unit"):
        st.markdown("**添加单位**")
        code = st.text_input("单位代码（如 440106）", max_chars=32, key="admin_unit_code")
        name = st.text_input("单位名称", max_chars=100, key="admin_unit_name")
        parent = st.selectbox("上级单位", list(parents), format_func=parents.get, key="admin_unit_parent")
        if st.form_submit_button("添加单位", type="primary"):
            try:
                made = add_unit(db, user, code, name, parent or None)
            except RecordsError as exc:
                st.error(zh(exc))
            else:
                _clear("admin_unit_")
                _flash(f"已添加单位 {made.path}（{made.code}）。")


def render(db: Session, user: User) -> None:
    st.title("管理")
    show_flash(FLASH)
    tabs = st.tabs(["上传文件", "文件列表", "用户", "单位"])
    with tabs[0]:
        upload_tab(db, user)
    with tabs[1]:
        documents_tab(db, user)
    with tabs[2]:
        users_tab(db, user)
    with tabs[3]:
        units_tab(db, user)


run_page(render, permission="documents.manage")
