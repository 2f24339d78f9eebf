"""How commands answer: plain-text tables for people, JSON rows for machines (``--format
json``), and a progress bar fed by ``progress(done, total)`` callbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def _cell(value: Any) -> str:
    import numpy as np

    if value is None or (isinstance(value, float | np.floating) and not np.isfinite(value)):
        return "-"
    if isinstance(value, np.ndarray | list | tuple):
        return ",".join(str(v) for v in value) or "-"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{value:.3f}"
    return str(value)


def text_table(df: Any, columns: dict[str, str]) -> str:
    """A plain-text table for a terminal: ``columns`` maps column names to headers (in order);
    numbers are right-aligned, missing values shown as ``-``."""
    import pandas as pd

    cols = [c for c in columns if c in df.columns]
    headers = [columns[c] for c in cols]
    rows = [[_cell(v) for v in r] for r in df[cols].itertuples(index=False)]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    numeric = {
        i
        for i, c in enumerate(cols)
        if pd.api.types.is_numeric_dtype(df[c].dtype) and not pd.api.types.is_bool_dtype(df[c])
    }

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def echo_json(obj: Any) -> None:
    """Print ``obj`` as one line of JSON (numpy values and non-string keys allowed)."""
    import orjson

    click.echo(
        orjson.dumps(
            obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=str
        ).decode()
    )


def records(df: Any) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN → null, numpy scalars and arrays → Python values."""
    import numpy as np

    def clean(v: Any) -> Any:
        if isinstance(v, np.ndarray | list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            return None
        return v

    return [{k: clean(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]


def progress_bar(label: str, quiet: bool) -> Callable[[int, int], None] | None:
    """A ``progress(done, total)`` callback drawing a tqdm bar named ``label`` (None when
    ``quiet``); the bar appears on the first call and closes when ``done`` reaches ``total``."""
    if quiet:
        return None
    from tqdm.auto import tqdm

    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=label, leave=False))
        bar[0].n = done
        bar[0].refresh()
        if done >= total:
            bar[0].close()

    return update
