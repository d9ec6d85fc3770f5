"""The unified social credit code (GB 32100-2015): 18 characters, region digits, a mod-31 check character."""
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from kamcrm.core.validators import CREDIT_CODE_ALPHABET, credit_code_check_char, validate_credit_code

# Published codes of real enterprises (from their business licences).
REAL_CODES = [
    "914403001922038216",  # 华为技术有限公司
    "91110000802100433B",  # 中国石油化工股份有限公司
    "91310000MA1FL0XQ04",  # the persona account's code in conftest.py
]


def error_code(value: str) -> str:
    with pytest.raises(ValidationError) as excinfo:
        validate_credit_code(value)
    return excinfo.value.code


@pytest.mark.parametrize("code", REAL_CODES)
def test_it_accepts_published_codes(code):
    validate_credit_code(code)


def test_it_accepts_lower_case_and_surrounding_spaces():
    # the services store the upper-case, stripped form; the validator judges the same form
    validate_credit_code(" 91110000802100433b ")


@pytest.mark.parametrize("code", ["914403001922038217", "91110000802100433C", "91310000MA1FL0XQ05"])
def test_it_refuses_a_wrong_check_character(code):
    assert error_code(code) == "checksum"


@pytest.mark.parametrize("code", ["", "9144030019220382", "9144030019220382161", "91440300192203821"])
def test_it_refuses_the_wrong_length(code):
    with pytest.raises(ValidationError) as excinfo:
        validate_credit_code(code)
    assert excinfo.value.code == "length"
    assert excinfo.value.params == {"n": len(code)}


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_it_refuses_the_letters_the_standard_leaves_out(letter):
    # given a valid code with one letter swapped for a forbidden one
    code = "91310000MA1FL0XQ04".replace("X", letter)
    # then
    with pytest.raises(ValidationError) as excinfo:
        validate_credit_code(code)
    assert excinfo.value.code == "charset"
    assert excinfo.value.params == {"c": letter}


@pytest.mark.parametrize("char", ["-", " ", "中", "*"])
def test_it_refuses_characters_outside_the_alphabet(char):
    assert error_code("9131000" + char + "MA1FL0XQ04") == "charset"


def test_it_refuses_letters_in_the_region_part():
    # characters 3–8 are the administrative region code: digits only, even with a correct check char
    first17 = "9131A000MA1FL0XQ0"
    code = first17 + credit_code_check_char(first17)
    assert error_code(code) == "region"


def test_it_works_as_the_account_field_validator():
    from kamcrm.customers.models import Account

    field = Account._meta.get_field("credit_code")
    with pytest.raises(ValidationError) as excinfo:
        field.run_validators("91110000802100433C")
    assert excinfo.value.error_list[0].code == "checksum"


alphabet = st.sampled_from(CREDIT_CODE_ALPHABET)
digits = st.sampled_from("0123456789")
first17s = st.tuples(st.text(alphabet, min_size=2, max_size=2), st.text(digits, min_size=6, max_size=6),
                     st.text(alphabet, min_size=9, max_size=9)).map("".join)


@given(first17s)
def test_it_accepts_any_prefix_with_its_computed_check_character(first17):
    validate_credit_code(first17 + credit_code_check_char(first17))


@given(first17s, st.integers(0, 17), alphabet)
def test_changing_any_one_character_breaks_the_code(first17, position, replacement):
    # given a valid code
    code = first17 + credit_code_check_char(first17)
    if code[position] == replacement:
        replacement = CREDIT_CODE_ALPHABET[(CREDIT_CODE_ALPHABET.index(replacement) + 1) % 31]
    if 2 <= position <= 7 and not replacement.isdigit():
        replacement = str((int(code[position]) + 1) % 10)
    # when one character changes
    changed = code[:position] + replacement + code[position + 1:]
    # then the check character no longer matches (weights are all non-zero mod the prime 31)
    assert changed != code
    assert error_code(changed) == "checksum"
