"""ISO 6346 and UN/LOCODE checks."""

from __future__ import annotations

import pytest

from cargowatch.ingest.validation import container_warning, is_unlocode, iso6346_check_digit


@pytest.mark.parametrize(
    ("number", "digit"), [("CSQU305438", 3), ("MSKU907032", 3), ("APZU481209", 0)]
)
def test_check_digit_of_published_examples(number: str, digit: int) -> None:
    assert iso6346_check_digit(number) == digit


def test_valid_number_has_no_warning() -> None:
    assert container_warning("CSQU3054383") is None


def test_wrong_check_digit_is_a_warning_naming_the_expected_digit() -> None:
    warning = container_warning("CSQU3054384")
    assert warning is not None and "expected 3" in warning


def test_non_iso_shape_is_a_warning() -> None:
    warning = container_warning("ABC123")
    assert warning is not None and "not an ISO 6346 number" in warning


@pytest.mark.parametrize("code", ["ECGYE", "BEANR", "NLRTM", "DEHA2"])
def test_unlocode_shapes_accepted(code: str) -> None:
    assert is_unlocode(code)


@pytest.mark.parametrize("code", ["ecgye", "BEAN", "NL0TM", "BE-NR", "BEANRX"])
def test_unlocode_shapes_refused(code: str) -> None:
    assert not is_unlocode(code)
