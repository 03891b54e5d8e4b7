"""NPO-assistent: the Streamlit web app (a thin client of ``assistant``).

Start with ``make run`` or ``streamlit run app.py``. Settings come from
``settings.get_settings()`` (environment variables with prefix NPO_).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app_pages.common import inject_css  # noqa: E402

st.set_page_config(
    page_title="NPO-assistent",
    page_icon=":material/school:",
    layout="wide",
    initial_sidebar_state="expanded",
)
inject_css()
st.logo(str(ROOT / "app_pages" / "static" / "logo.svg"), size="large")

pages = {
    "Vragen": [
        st.Page("app_pages/vraag.py", title="Vraag", icon=":material/chat:", url_path="vraag", default=True),
        st.Page("app_pages/concept.py", title="Conceptantwoord", icon=":material/edit_note:", url_path="concept"),
    ],
    "Beheer": [
        st.Page("app_pages/documenten.py", title="Documenten", icon=":material/folder_open:", url_path="documenten"),
        st.Page("app_pages/kwaliteit.py", title="Kwaliteit", icon=":material/monitoring:", url_path="kwaliteit"),
    ],
}
page = st.navigation(pages)

page.run()

with st.sidebar:
    st.divider()
    st.markdown(
        '<div class="npo-footer">De NPO-assistent beantwoordt vragen over het Nationaal Programma '
        "Onderwijs uitsluitend op basis van de geïndexeerde documenten. Controleer antwoorden altijd "
        "aan de hand van de bronnen.</div>",
        unsafe_allow_html=True,
    )
