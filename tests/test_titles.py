"""Title cleaning and masking against the table widget.js is also tested with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.titles import clean_title, is_edition, mask_title

CASES = json.loads((Path(__file__).parent / "fixtures" / "titles.json").read_text())


@pytest.mark.parametrize(("title", "expected"), CASES["clean"])
def test_clean_title_matches_the_shared_table(title: str, expected: str) -> None:
    assert clean_title(title) == expected


@pytest.mark.parametrize(("title", "expected"), CASES["mask"])
def test_mask_title_matches_the_shared_table(title: str, expected: str) -> None:
    assert mask_title(title) == expected


def test_a_live_segment_is_not_an_edition() -> None:
    assert not is_edition("Live at Wembley")


def test_a_bare_year_is_not_an_edition() -> None:
    assert not is_edition("2011")


@given(st.text(max_size=80))
def test_cleaning_is_idempotent_and_never_empties_a_title(title: str) -> None:
    cleaned = clean_title(title)
    assert clean_title(cleaned) == cleaned
    assert cleaned or not title.strip()
