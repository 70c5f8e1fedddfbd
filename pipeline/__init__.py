"""framing-pipeline: framing devices and propaganda techniques in news text, with exact offsets."""

from pipeline.document import Document, OffsetError, Sentence, Span, stable_id

__version__ = "0.1.0"

__all__ = ["Annotator", "Document", "OffsetError", "Sentence", "Span", "stable_id", "__version__"]


def __getattr__(name: str):
    # the model (and torch) load only when asked for: `import pipeline` stays cheap for the readers and segmenter
    if name == "Annotator":
        from pipeline.model.annotator import Annotator

        return Annotator
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
