"""HTML to PDF with WeasyPrint, for files an officer prints or attaches to a report.

The document is rendered from cargowatch's own templates with everything inline (styles,
charts as SVG); the fetcher refuses every URL, so nothing in a record can make the renderer
read a file or reach the network."""

from __future__ import annotations

import warnings
from typing import Any

from cargowatch.exceptions import InvalidInput


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise InvalidInput(f"a PDF may not load {url[:80]!r}")


def render(html: str) -> bytes:
    """The PDF of a self-contained HTML document."""
    with warnings.catch_warnings():  # a notice about a library a future version will need
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        from weasyprint import HTML  # imported when used: it loads Pango

    data = HTML(string=html, url_fetcher=_refuse).write_pdf()
    return bytes(data or b"")
