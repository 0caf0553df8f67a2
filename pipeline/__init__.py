"""Bilingual (English/Japanese) webinar pipeline: transcript, speakers, translation, report."""

__version__ = "0.1.0"
