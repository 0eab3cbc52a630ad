"""ZhifaKB (执法知库): the domain core. Never imports streamlit."""

__version__ = "0.1.0"
