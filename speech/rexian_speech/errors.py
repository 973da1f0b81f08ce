"""Typed errors of the speech service; ``app.error_middleware`` maps them to HTTP once."""

from __future__ import annotations


class SpeechError(Exception):
    """Base error: carries an HTTP status, a stable code and a message for citizens."""

    status = 400
    code = "bad_request"
    message = "请求无效"

    def __init__(self, message: str | None = None, **context: object) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.context = context

    def to_json(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message}}


class EmptyAudio(SpeechError):
    code = "empty_audio"
    message = "音频为空，请重新录音后再试"


class AudioTooLarge(SpeechError):
    status = 413
    code = "audio_too_large"
    message = "音频文件过大"


class AudioTooLong(SpeechError):
    status = 413
    code = "audio_too_long"
    message = "音频时长超出上限"


class UnsupportedAudio(SpeechError):
    status = 415
    code = "unsupported_format"
    message = "不支持的音频格式，请上传 WAV、MP3、AMR、SILK 或 16 位 PCM（需提供 rate 参数）"


class CorruptAudio(SpeechError):
    status = 422
    code = "corrupt_audio"
    message = "音频文件已损坏或无法解码"


class BadParameter(SpeechError):
    code = "bad_parameter"
    message = "请求参数无效"


class Overloaded(SpeechError):
    status = 503
    code = "busy"
    message = "识别服务繁忙，请稍后再试"


class NotReady(SpeechError):
    status = 503
    code = "not_ready"
    message = "识别模型尚未加载完成，请稍后再试"
