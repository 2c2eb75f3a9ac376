"""Escaping for stored strings shown in the dashboard (camera, drone, mission names...).

Registry files and drone names come from outside; a name like
``${(window.top.document.title="PWNED")}`` or ``<img src=x onerror=...>`` must show as
text, never run. Two sinks need different treatment:

- folium tooltips and popups: folium writes the text *raw* into a JavaScript template
  literal (`` `...` ``) whose value Leaflet then sets as ``innerHTML``. So the text must
  be HTML-escaped (``< > & " '``) AND must not contain anything a template literal
  interprets: `` ` `` (ends it), ``${`` (runs an expression) and ``\\`` (escapes). Those
  three become HTML character references, which are inert inside the JavaScript string
  and display as the original character once Leaflet parses the HTML.
- Streamlit markdown (``st.markdown``): HTML is already escaped by Streamlit, but
  markdown syntax in a name could still make links or remote images; punctuation that
  markdown interprets is backslash-escaped.
"""

from __future__ import annotations

import html
import re

_JS_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;", "\u2028": " ", "\u2029": " "})
# Only what can make links, images, HTML, emphasis, code, tables, maths or Streamlit
# directives mid-line (names never start a line: newlines are folded below), so plain
# names like ``sim-1`` or ``35.1`` read unchanged in the markdown source.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>!|~$])")


def html_text(value: object) -> str:
    """``value`` as inert HTML text that is also safe inside a JavaScript template literal."""
    return html.escape(str(value), quote=True).translate(_JS_TEMPLATE)


def md_text(value: object) -> str:
    """``value`` as literal text inside Streamlit markdown (no links, images, emphasis)."""
    text = " ".join(str(value).split())  # no newlines: a name cannot start a block
    return _MD_SPECIAL.sub(r"\\\1", text)
