"""Settings of the post-event report (``report:`` in the config; see docs/report.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Bilingual, Strict


class ReportSettings(Strict):
    # "llm": the LLM layer (``llm:`` section) translates chosen sentences the translate stage has
    # not rendered and writes the overview's ``overview_sentences``; "extractive": no model at all
    # (a sentence without a rendering is left pending). What each speaker said is reported by rule
    # either way: asked for reported speech, the packaged model kept "we" and the polite forms, and
    # asked to fuse two sentences it strung them together (docs/report.md, seventh pass).
    engine: Literal["llm", "extractive"] = "llm"
    # Length of the report, in English words (citations and headings not counted): this base
    # plus so many words per minute of recording (8.3 min: about 390 words; 60 min: 1,110).
    # Designations and the overview are paid for first; what is left is shared out between the
    # sessions by speech time and spent on what the speakers said, most valuable first.
    max_words_base: int = Field(default=270, ge=50)
    max_words_per_minute: float = Field(default=14.0, ge=0)
    # What a speaker said: at most this many clauses per session (two to a sentence, so at most
    # two sentences), each at most ``max_clause_words`` English words (a longer sentence is cut
    # to its coordinated clause that keeps most of its meaning).
    max_clauses_per_speaker: int = Field(default=3, ge=1, le=4)
    max_clause_words: int = Field(default=16, ge=6)
    # A speaker's first clause is their best sentence even if the recogniser was unsure of some
    # of its words (it is marked for the editor); any further clause may carry at most this many
    # such words. 0 keeps misheard words out of all but the first; more tells more (on the demo,
    # with 4 clauses a speaker and a larger budget: key-point recall 62 % against 34 %, and more
    # sentences with a misheard or mistranslated word: docs/report.md).
    max_unsure_words: int = Field(default=0, ge=0)
    # The overview: the agenda sentence, the topics sentence (the event's terms most people said)
    # and this many sentences the model writes from the report's clauses (what the discussion
    # came to). 0 by default: asked for one, the packaged model strung clauses together or copied
    # one, slips included, in all 6 requests on the demo, at 60-230 s a request on a shared
    # machine (docs/report.md, seventh pass). For a bigger model (``llm:``), 1 or 2.
    overview_sentences: int = Field(default=0, ge=0, le=3)
    # The model's answer cap (the overview's sentences, a batch of translations).
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
