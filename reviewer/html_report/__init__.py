"""The one way the suite writes HTML reports: jinja2 templates (autoescaped) that extend one base
page with one stylesheet, and one helper that embeds a matplotlib figure, so every report is a
single self-contained file. The leaderboard, the reviewer evaluation and the Goodhart report use it."""
from __future__ import annotations

import base64
import io
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@cache
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )


def stylesheet() -> str:
    return (HERE / "style.css").read_text(encoding="utf-8")


def render_page(template: str, **context: Any) -> str:
    """Render `templates/<template>` (which extends base.html.j2) into a complete page."""
    return _environment().get_template(template).render(stylesheet=stylesheet(), **context)


def figure_data_uri(fig: Any, dpi: int = 110) -> str:
    """A matplotlib figure as a `data:image/png;base64,...` URI; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
