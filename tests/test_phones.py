"""Phone numbers as mothers type them."""
import pytest

from scheduling.text.phones import parse_phone


@pytest.mark.parametrize("typed, number", [
    ("090-1234-5678", "090-1234-5678"),
    ("09012345678", "090-1234-5678"),
    ("０９０ー１２３４ー５６７８", "090-1234-5678"),   # full-width digits and a long-vowel mark for the dashes
    ("090 1234 5678", "090-1234-5678"),
    ("+81 90-1234-5678", "090-1234-5678"),
    ("043-123-4567", "043-123-4567"),                  # a landline with its area code
    ("0431234567", "043-123-4567"),
    ("050-1234-5678", "050-1234-5678"),
    ("電話番号は080-1111-2222です", "080-1111-2222"),
])
def test_the_common_forms_are_read(typed, number):
    assert parse_phone(typed) == number


@pytest.mark.parametrize("typed", [
    "1234", "090-1234-567", "99999999999", "0120-279-338",  # too short, too short, nothing, toll-free
    "090-1234-5678と03-1234-5678",                         # two numbers: which one?
    "", "わかりません", "0" * 5000,
])
def test_what_is_not_one_number_to_call_back_is_refused(typed):
    assert parse_phone(typed) is None
