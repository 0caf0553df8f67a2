"""Settings of the post-event report (``report:`` in the config; see docs/report.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Bilingual, Strict


class ReportSettings(Strict):
    # "llm": the LLM layer (``llm:`` section) drafts key points and translations, checked and
    # backed by the extractive draft; "extractive": no model at all (central sentences only).
    engine: Literal["llm", "extractive"] = "llm"
    # How the Japanese draft is written: "source" drafts it from the Japanese transcript (English
    # speakers' points reach Japanese as ``points_written_in`` says); "translate" translates the
    # English draft.
    # Measured on the demo: see docs/report.md.
    japanese_from: Literal["source", "translate"] = "source"
    # The languages a part's request writes its key point in. "both": every report language at
    # once; "spoken": only the language the part was spoken in, the other language getting the
    # translate stage's rendering of the sentences the point cites (labelled machine
    # translation). "spoken" asks the model for about half the tokens (docs/report.md).
    points_written_in: Literal["both", "spoken"] = "spoken"
    # A part of one sentence written in the language it was spoken in: "quoted" reports the
    # sentence itself, as said, without a request; "drafted" asks the model for its key point,
    # which on the demo was the sentence copied (14 of 20) or less its lead-in (3)
    # (docs/report.md, fifth pass).
    one_sentence_parts: Literal["quoted", "drafted"] = "quoted"
    # A part of several sentences written only in the language it was spoken in (rendered into
    # the others) is reported as said too when that language is listed here: its most central
    # sentences, at most ``quoted_sentences_per_part``, without a request. The packaged model's
    # Japanese "key point" of 2-3 sentences was one of them copied, or several strung together,
    # in 10 of 15 requests on the demo; its 5 edits dropped a date, narrowed a list into another
    # claim and merged two sentences into one neither made (docs/report.md, sixth pass). Empty
    # for a model that summarises Japanese.
    quote_parts_in: list[Literal["en", "ja"]] = ["ja"]
    # One sentence per part left out the other half of the part: key-point recall 64 % on the
    # demo against 84 % with two.
    quoted_sentences_per_part: int = Field(default=2, ge=1, le=8)
    # Key points per speaker and per session part, at most.
    max_points_per_speaker: int = Field(default=3, ge=1, le=8)
    # Bounded context of one map step: the speaker's most central sentences (at most this many,
    # shown in time order) up to ``max_context_chars`` characters (Japanese characters count
    # double). A talk makes several points: showing only the few most central sentences left the
    # model one theme to write about (docs/report.md).
    context_sentences: int = Field(default=8, ge=1, le=40)
    max_context_chars: int = Field(default=1400, ge=200)
    # Answers of the model that fail the checks are asked again this many times, then the
    # extractive draft takes their place.
    retries: int = Field(default=1, ge=0, le=3)
    # A map step's answer cap. Three bilingual points take 170-300 tokens (the packaged model
    # indents its JSON whatever it is asked); at 200, 11 of 21 answers were cut off mid-JSON.
    max_tokens: int = Field(default=400, ge=32)
    # Ask the engine for schema-constrained JSON. Off by default: with llama-cpp the grammar is
    # applied over the whole 151k-token vocabulary at every step, several times slower on 2 cores
    # (docs/report.md); the answer is parsed leniently and checked either way.
    constrained: bool = False
    # A claim is supported when the best cited segment is at least this similar to it
    # (multilingual-e5-small cosine) and ranks among the ``support_rank`` segments of the
    # transcript most similar to the claim. e5's cosines sit high (unrelated ~0.75-0.8): rank
    # carries most of the signal.
    min_support: float = Field(default=0.82, ge=0, le=1)
    support_rank: int = Field(default=3, ge=1)
    # "remove": unsupported claims leave the draft; "mark": they stay, marked for the editor.
    unsupported: Literal["remove", "mark"] = "remove"
    # Quotes: at most this long (characters; Japanese) / words (English).
    quote_max_chars_ja: int = Field(default=45, ge=10)
    quote_max_words_en: int = Field(default=22, ge=4)
    # How a person is addressed, by person id ({en: "Professor", ja: "教授"}). Without an entry:
    # "Professor" when the agenda title says so, else the full name alone (English), 氏 (Japanese).
    honorifics: dict[str, Bilingual] = {}
    # Citations link here: "{t}" is the time in seconds, "{id}" the segment id. The default opens
    # the recording at that moment; a review app link looks like "http://host:8000/review#{id}".
    citation_link: str = "#t={t}"
    # Event format line of the report header, per language.
    format: Bilingual = Bilingual(en="Online symposium (English and Japanese, simultaneous interpretation)",
                                  ja="オンラインシンポジウム（日英同時通訳）")
    formats: list[Literal["md", "html", "docx"]] = ["md", "html", "docx"]
