"""How to cite: the paper's BibTeX comes from setdyn.paper, the book's from _config.yml."""
from __future__ import annotations

import pytest

from setdyn import paper
from setdyn.book import cite


def test_paper_reference_has_every_part_and_the_link():
    md = cite.paper_reference_markdown()
    for part in (*paper.PAPER_AUTHORS, paper.PAPER_TITLE, str(paper.PAPER_YEAR), f"({paper.ARXIV_URL})"):
        assert part in md
    assert paper.CITATION == f'K. T. Murray, "{paper.PAPER_TITLE}", 2023. arXiv:2310.07908'


def test_paper_bibtex():
    bib = cite.paper_bibtex()
    assert bib.startswith("@misc{murray2023,") and bib.endswith("}")
    assert "author        = {Murray, K. T.}" in bib and f"eprint        = {{{paper.ARXIV_ID}}}" in bib
    assert bib.count("{") == bib.count("}")


def test_book_bibtex_follows_the_config(tmp_path):
    cfg = tmp_path / "_config.yml"
    cfg.write_text('title: "A book"\nauthor: "the x authors, reproducing y"\ncopyright: "2031"\n'
                   "repository:\n  url: https://example.org/x/y\n")
    bib = cite.book_bibtex(cfg)
    assert "author = {{The x authors}}" in bib and "year   = {2031}" in bib and "url    = {https://example.org/x/y}" in bib
    assert bib.count("{") == bib.count("}")
    cfg.write_text('title: "A book"\nauthor: "me"\ncopyright: "2031"\n')
    with pytest.raises(ValueError, match="repository.url"):
        cite.book_bibtex(cfg)


def test_book_bibtex_of_this_book():
    assert "url    = {https://github.com/" in cite.book_bibtex()
