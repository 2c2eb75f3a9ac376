"""Each UI test seeds its own database; Streamlit's ``st.cache_data`` is process-wide, so an
entry cached by an earlier test (same view box, another database) would answer for this
one. A real dashboard process has one database, so clearing per test is what it sees."""

from __future__ import annotations

import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    st.cache_data.clear()
    yield
    st.cache_data.clear()
