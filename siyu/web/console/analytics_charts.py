"""ECharts option dicts for the analytics dashboards, built in Python.

The browser (``/static/analytics.js``) renders these options unchanged, so a chart
shows exactly the numbers the API returns. Options are plain JSON: functions cannot
travel, so an axis formatter is named (``"yuan"`` for fen shown as ¥, ``"percent"`` for
a 0..1 ratio) and ``analytics.js`` swaps the name for the function.

Every helper takes category labels (``x``) and named series (label → values, one per
category, ``None`` for a gap) and returns a dict ready for the ``chart`` macro.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

AxisFormat = Literal["yuan", "percent", "plain"]
Values = Sequence[int | float | None]


def _labels(x: Sequence[Any]) -> list[str]:
    return [value.isoformat() if isinstance(value, date) else str(value) for value in x]


def _value_axis(axis_format: AxisFormat, *, name: str = "") -> dict[str, Any]:
    axis: dict[str, Any] = {"type": "value"}
    if name:
        axis["name"] = name
    if axis_format != "plain":
        axis["axisLabel"] = {"formatter": axis_format}
    return axis


def _frame(x: Sequence[Any], title: str) -> dict[str, Any]:
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 56, "right": 56, "top": 40, "bottom": 32, "containLabel": True},
        "xAxis": {"type": "category", "data": _labels(x)},
    }
    if title:
        option["title"] = {"text": title, "left": "center", "textStyle": {"fontSize": 13}}
        option["legend"]["top"] = 24
        option["grid"]["top"] = 60
    return option


def line_chart(
    x: Sequence[Any],
    series: Mapping[str, Values],
    *,
    axis_format: AxisFormat = "plain",
    title: str = "",
    area: bool = False,
) -> dict[str, Any]:
    """One line per series over the categories ``x`` (days, weeks, months …)."""
    option = _frame(x, title)
    option["yAxis"] = _value_axis(axis_format)
    option["series"] = [
        {
            "name": name,
            "type": "line",
            "smooth": True,
            "showSymbol": len(x) <= 31,
            "data": list(values),
            **({"areaStyle": {}} if area else {}),
        }
        for name, values in series.items()
    ]
    return option


def dual_axis_line_chart(
    x: Sequence[Any],
    left: Mapping[str, Values],
    right: Mapping[str, Values],
    *,
    left_format: AxisFormat = "yuan",
    right_format: AxisFormat = "plain",
    title: str = "",
) -> dict[str, Any]:
    """Lines on two value axes: e.g. GMV (¥, left) with orders and visitors (counts, right)."""
    option = _frame(x, title)
    option["yAxis"] = [_value_axis(left_format), _value_axis(right_format)]
    option["series"] = [
        {"name": name, "type": "line", "smooth": True, "yAxisIndex": 0, "data": list(values)}
        for name, values in left.items()
    ] + [
        {"name": name, "type": "line", "smooth": True, "yAxisIndex": 1, "data": list(values)}
        for name, values in right.items()
    ]
    return option


def bar_chart(
    x: Sequence[Any],
    series: Mapping[str, Values],
    *,
    axis_format: AxisFormat = "plain",
    title: str = "",
    horizontal: bool = False,
) -> dict[str, Any]:
    """Grouped bars, one bar per series in each category."""
    option = _frame(x, title)
    value_axis = _value_axis(axis_format)
    if horizontal:
        option["yAxis"] = {**option.pop("xAxis"), "inverse": True}
        option["xAxis"] = value_axis
    else:
        option["yAxis"] = value_axis
    option["series"] = [
        {"name": name, "type": "bar", "data": list(values)} for name, values in series.items()
    ]
    return option


def stacked_bar_chart(
    x: Sequence[Any],
    series: Mapping[str, Values],
    *,
    axis_format: AxisFormat = "plain",
    title: str = "",
    horizontal: bool = False,
) -> dict[str, Any]:
    """Bars stacked per category: the parts (e.g. new vs returning GMV) of a whole."""
    option = bar_chart(x, series, axis_format=axis_format, title=title, horizontal=horizontal)
    for entry in option["series"]:
        entry["stack"] = "total"
        entry["emphasis"] = {"focus": "series"}
    return option


def stacked_area_chart(
    x: Sequence[Any],
    series: Mapping[str, Values],
    *,
    axis_format: AxisFormat = "plain",
    title: str = "",
) -> dict[str, Any]:
    """Lines stacked with filled areas: a whole over time split into its parts."""
    option = line_chart(x, series, axis_format=axis_format, title=title, area=True)
    for entry in option["series"]:
        entry["stack"] = "total"
    return option


def waterfall_chart(
    steps: Sequence[tuple[str, int | float]],
    *,
    start: tuple[str, int | float],
    end: tuple[str, int | float],
    axis_format: AxisFormat = "yuan",
    title: str = "",
    increase_label: str = "+",
    decrease_label: str = "-",
) -> dict[str, Any]:
    """A bridge from ``start`` to ``end``: one floating bar per step (its contribution).

    Built as a stacked bar with an invisible base series, the usual ECharts way."""
    names = [start[0], *(name for name, _ in steps), end[0]]
    base: list[int | float | str] = [0]
    ups: list[int | float | str] = [start[1]]
    downs: list[int | float | str] = ["-"]
    running = start[1]
    for _, amount in steps:
        if amount >= 0:
            base.append(running)
            ups.append(amount)
            downs.append("-")
        else:
            base.append(running + amount)
            ups.append("-")
            downs.append(-amount)
        running += amount
    base.append(0)
    ups.append(end[1])
    downs.append("-")
    option = _frame(names, title)
    option["tooltip"] = {"trigger": "axis", "axisPointer": {"type": "shadow"}}
    option["xAxis"]["axisLabel"] = {"interval": 0, "hideOverlap": False}
    option["yAxis"] = _value_axis(axis_format)
    option["series"] = [
        {
            "name": "base",
            "type": "bar",
            "stack": "bridge",
            "silent": True,
            "itemStyle": {"borderColor": "transparent", "color": "transparent"},
            "emphasis": {"itemStyle": {"borderColor": "transparent", "color": "transparent"}},
            "data": base,
        },
        {"name": increase_label, "type": "bar", "stack": "bridge", "data": ups},
        {"name": decrease_label, "type": "bar", "stack": "bridge", "data": downs},
    ]
    option["legend"]["data"] = [increase_label, decrease_label]
    return option


def tree_chart(root: Mapping[str, Any], *, title: str = "") -> dict[str, Any]:
    """A left-to-right tree; ``root`` is ``{"name", "value"?, "children": [...]}``."""
    option: dict[str, Any] = {
        "tooltip": {"trigger": "item", "triggerOn": "mousemove"},
        "series": [
            {
                "type": "tree",
                "data": [dict(root)],
                "top": "6%",
                "left": "22%",
                "bottom": "6%",
                "right": "30%",
                "symbolSize": 10,
                "orient": "LR",
                "initialTreeDepth": -1,
                "label": {"position": "left", "verticalAlign": "middle", "align": "right"},
                "leaves": {
                    "label": {"position": "right", "verticalAlign": "middle", "align": "left"}
                },
                "expandAndCollapse": False,
            }
        ],
    }
    if title:
        option["title"] = {"text": title, "left": "center", "textStyle": {"fontSize": 13}}
    return option


def pie_chart(parts: Sequence[tuple[str, int | float]], *, title: str = "") -> dict[str, Any]:
    """Shares of a whole (few parts: a channel mix, new vs returning)."""
    option: dict[str, Any] = {
        "tooltip": {"trigger": "item"},
        "legend": {"type": "scroll", "bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["40%", "70%"],
                "data": [{"name": name, "value": value} for name, value in parts],
            }
        ],
    }
    if title:
        option["title"] = {"text": title, "left": "center", "textStyle": {"fontSize": 13}}
    return option
