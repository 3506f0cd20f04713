"""Pick an extractor or summariser by its configuration name, importing only that adapter.

Why lazy imports: a function that only records turns must not pay for the regex tables or
boto3 at cold start; the adapter module is imported the first time it is asked for.
"""

from __future__ import annotations

from engram.errors import EngramError
from engram.extract.ports import Extractor, Summarizer

EXTRACTORS = ("heuristic", "learned", "bedrock")
SUMMARIZERS = ("extractive", "bedrock")


def get_extractor(name: str | None = None) -> Extractor:
    """``learned`` (default), ``heuristic`` or ``bedrock``; ``None`` reads ``Settings.extractor``."""
    if name is None:
        from engram.config import get_settings

        name = get_settings().extractor
    if name == "learned":
        from engram.extract.learned import LearnedExtractor

        return LearnedExtractor()
    if name == "heuristic":
        from engram.extract.heuristic import HeuristicExtractor

        return HeuristicExtractor()
    if name == "bedrock":
        from engram.extract.bedrock import BedrockExtractor

        return BedrockExtractor()
    raise EngramError(f"unknown extractor {name!r}; expected one of {', '.join(EXTRACTORS)}")


def get_summarizer(name: str | None = None) -> Summarizer:
    """``extractive`` or ``bedrock``; ``None`` reads ``Settings.summarizer``."""
    if name is None:
        from engram.config import get_settings

        name = get_settings().summarizer
    if name == "extractive":
        from engram.extract.extractive import ExtractiveSummarizer

        return ExtractiveSummarizer()
    if name == "bedrock":
        from engram.extract.bedrock import BedrockSummarizer

        return BedrockSummarizer()
    raise EngramError(f"unknown summarizer {name!r}; expected one of {', '.join(SUMMARIZERS)}")
