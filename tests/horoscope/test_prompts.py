"""The horoscope prompt format and the training pairs made from raw rows."""

from __future__ import annotations

import pytest

from stackpipes.horoscope.prompts import format_example, format_prompt, horoscope_examples
from stackpipes.lm.config import ExampleFormatError


def test_prompt_format_and_its_errors():
    assert format_prompt("aries", "2026-11-01") == "Horoscope for Aries, 2026-11-01:\n"
    assert format_example("leo", "2026-11-01", " Shine. ", "</s>") == "Horoscope for Leo, 2026-11-01:\nShine.</s>"
    pairs = horoscope_examples([{"sign": "pisces", "date": "2026-01-02", "text": "Swim."},
                                {"sign": "pisces", "date": "2026-01-03", "text": "  "}])
    assert pairs == [("Horoscope for Pisces, 2026-01-02:\n", "Swim.")]
    for sign, date in (("Aries", "2026-11-01"), ("ophiuchus", "2026-11-01"), ("leo", "01.11.2026"),
                       ("leo", "2026-02-30")):
        with pytest.raises(ExampleFormatError):
            format_prompt(sign, date)
