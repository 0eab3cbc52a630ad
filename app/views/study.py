"""Placeholder until this page is built (being written now)."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.orm import Session

from app.page import run_page
from kb.records.models import User


def render(db: Session, user: User) -> None:
    st.title("建设中")


run_page(render, permission="quiz.take")
