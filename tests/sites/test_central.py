"""The central listing: each site's rows sorted on their own, merged page by page, give the
same rows in the same order as one sort of everything."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lookout.sites.central import Listing, Row, row_order
from lookout.wire.central import RemoteObject


def obj(host: str, state: int, handled: bool, changed: float) -> RemoteObject:
    return RemoteObject(
        host=host,
        service="svc",
        state=state,
        hard=True,
        checked=True,
        summary="",
        last_check=changed,
        last_state_change=changed,
        acknowledged=handled,
        in_downtime=False,
        handled=handled,
        stale=False,
        flapping=False,
    )


rows_of_a_site = st.lists(
    st.tuples(st.integers(0, 3), st.booleans(), st.integers(0, 5)), max_size=30
)


@given(st.lists(rows_of_a_site, max_size=5), st.integers(0, 60), st.integers(0, 60))
def test_merged_pages_are_slices_of_one_sort(
    sites: list[list[tuple[int, bool, int]]], start: int, length: int
) -> None:
    parts: list[list[Row]] = []
    for i, rows in enumerate(sites):
        site = f"s{i}"
        part = [(site, obj(f"h{j}", *row)) for j, row in enumerate(rows)]
        parts.append(sorted(part, key=row_order))
    everything = sorted((row for part in parts for row in part), key=row_order)
    listing = Listing(tuple(p for p in parts if p), len(everything), 0)

    assert listing.slice(start, start + length) == everything[start : start + length]
