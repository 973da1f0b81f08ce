"""Checks a WeChat callback must pass before anything else looks at it.

Order (STYLE 2, "verify before you parse"): the query-string signature and the replay window,
then the body size while it is read, then a DTD-free parse with ``defusedxml``; in safe mode
the ``msg_signature`` over the ciphertext is checked before decryption. Every failure is a
``WeChatRejected`` carrying the HTTP status and a short reason for the log line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from typing import Optional, Tuple
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from sanic.request import Request
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException


class WeChatRejected(Exception):
    """A callback refused before processing; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def hashed(value: str) -> str:
    """Short, stable pseudonym for logs (same scheme as desk and the actions)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def signature_of(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the lexicographically sorted parts, concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def verify_signature(expected_parts: Tuple[str, ...], given: Optional[str]) -> None:
    """Constant-time check of a ``signature``/``msg_signature`` query parameter.

    Raises:
        WeChatRejected: 403 when it is missing or does not match.
    """
    if not given:
        raise WeChatRejected(403, "signature_missing")
    expected = signature_of(*expected_parts).encode("ascii")
    if not hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "replace")):
        raise WeChatRejected(403, "signature_mismatch")


def verify_timestamp(timestamp: Optional[str], now: float, max_skew_s: float) -> None:
    """Rejects a callback whose timestamp is absent, malformed or outside the replay window."""
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        raise WeChatRejected(403, "timestamp_invalid")
    if abs(now - int(timestamp)) > max_skew_s:
        raise WeChatRejected(403, "timestamp_stale")


async def read_body(request: Request, limit: int) -> bytes:
    """Reads a streamed request body, giving up (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise WeChatRejected(413, "body_too_large")
    stream = request.stream
    if stream is None:  # the route is not streamed: Sanic has read the body already
        return _capped(request.body or b"", limit)
    body = bytearray()
    while True:
        chunk = await stream.read()
        if chunk is None:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            raise WeChatRejected(413, "body_too_large")


def _capped(body: bytes, limit: int) -> bytes:
    if len(body) > limit:
        raise WeChatRejected(413, "body_too_large")
    return body


def parse_xml(body: bytes) -> Element:
    """Parses a WeChat XML document, refusing any DTD (so no entity expansion, local or external).

    Only documents that pass here are handed to wechatpy, whose ``xmltodict`` parser would
    otherwise see them first.

    Raises:
        WeChatRejected: 400 for a DTD/entity payload, malformed XML or a root other than <xml>.
    """
    try:
        root = defused_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise WeChatRejected(400, "xml_forbidden_construct") from exc
    except (ParseError, ValueError) as exc:
        raise WeChatRejected(400, "xml_malformed") from exc
    if root.tag != "xml":
        raise WeChatRejected(400, "xml_unexpected_root")
    return root


def child_text(root: Element, tag: str) -> str:
    node = root.find(tag)
    return (node.text or "").strip() if node is not None else ""


class SafeModeCipher:
    """WeChat safe mode (AES): message decryption, reply encryption, echostr decryption.

    Signatures are checked here with ``hmac.compare_digest`` before wechatpy decrypts;
    wechatpy's own decrypt helpers compare with ``!=`` and parse with ``xmltodict``.
    """

    def __init__(self, token: str, aes_key: str, appid: str) -> None:
        try:
            key = base64.b64decode(aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("aes_key is not a 43-character EncodingAESKey") from exc
        if len(aes_key) != 43 or len(key) != 32:
            raise ValueError("aes_key is not a 43-character EncodingAESKey")
        self._token = token
        self._appid = appid
        self._prp = PrpCrypto(key)
        self._crypto = WeChatCrypto(token, aes_key, appid)

    def decrypt(self, ciphertext: str, msg_signature: Optional[str], timestamp: str, nonce: str) -> bytes:
        """Checks ``msg_signature`` over the ciphertext, then decrypts it to the inner XML."""
        if not ciphertext:
            raise WeChatRejected(400, "encrypt_missing")
        verify_signature((self._token, timestamp, nonce, ciphertext), msg_signature)
        try:
            return self._prp.decrypt(ciphertext, self._appid).encode("utf-8")
        except InvalidAppIdException as exc:
            raise WeChatRejected(403, "appid_mismatch") from exc
        except (binascii.Error, ValueError, struct.error, IndexError, UnicodeError, TypeError) as exc:
            raise WeChatRejected(400, "decrypt_failed") from exc

    def encrypt_reply(self, xml: str, nonce: str, timestamp: str) -> str:
        """The encrypted envelope WeChat expects as a passive reply in safe mode."""
        return self._crypto.encrypt_message(xml, nonce, timestamp)
