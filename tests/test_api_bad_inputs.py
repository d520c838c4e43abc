"""Every row of README's bad-input table (``tests/bad_inputs.py``) gets the status and title it lists."""

from __future__ import annotations

import pytest
from bad_inputs import CASES, Case, send


@pytest.mark.parametrize("case", CASES, ids=[c.what[:50] for c in CASES])
def test_bad_input_answer(case: Case) -> None:
    status, title, message = send(case)
    assert (status, title) == (case.status, case.title)
    assert bool(message) == (status != 200)
