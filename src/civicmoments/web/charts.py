"""Charts drawn on the server as SVG, with Vega-Lite (``altair``) rendered by ``vl-convert-python``.

Both come with the ``charts`` extra. Without them ``bar_svg`` returns None and the pages show
the data table alone, which always carries every value the chart would.
"""

from __future__ import annotations

from collections.abc import Sequence


def available() -> bool:
    try:
        import altair  # noqa: F401
        import vl_convert  # noqa: F401
    except ImportError:
        return False
    return True


def bar_svg(title: str, unit: str, bars: Sequence[tuple[str, float]]) -> str | None:
    """A horizontal bar chart, one bar per (label, value); an SVG string, or None without the
    libraries or the bars. The SVG is decorative to assistive technology: the page's table and
    text say the same, so it is marked ``aria-hidden``."""
    if not bars or not available():
        return None
    import altair as alt
    import vl_convert as vlc

    data = [{"label": label, "value": value} for label, value in bars]
    chart = (alt.Chart(alt.Data(values=data), title=title)
             .mark_bar(color="#1d70b8")
             .encode(x=alt.X("value:Q", title=unit), y=alt.Y("label:N", title=None, sort=None))
             .properties(width=420, height=max(40, 28 * len(bars))))
    svg = vlc.vegalite_to_svg(chart.to_dict())
    return svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
