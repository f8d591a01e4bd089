"""The built book reads like a paper: code folded, figures numbered, captioned, described and cited,
terms linked to the glossary, and the introduction opening on the hero figure with the paper's reference.

File checks on ``_build/html`` (BeautifulSoup), plus one browser check: the hero is on the
introduction's first screen at 1366x900 and 390x844. The source notebooks keep their code (the
tags only fold it in the HTML), which ``test_book_notebooks.py`` checks cell by cell.
"""
from __future__ import annotations

import re

import pytest

from setdyn import paper
from setdyn.book.build import is_notebook, page_source, toc_files

from conftest import ROOT

PAGES = toc_files(ROOT)
# Pages whose code is part of the reading (the appendix shows the book's machinery on purpose).
CODE_SHOWN = {"book/machinery"}
GLOSSARY_TERMS = ("limit cycle", "phase", "phase response curve", "Floquet multiplier", "rPC1", "Wilson interval",
                  "fixed point", "Z3", "phase code", "finite-state automaton", "CT-RNN", "alpha", "DSA", "MDS",
                  "medoid", "slow point", "line attractor")
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def _soup(built_book, name):
    from bs4 import BeautifulSoup

    return BeautifulSoup((built_book / f"{name}.html").read_text(encoding="utf-8"), "html.parser")


def _main(soup):
    """The page's own content (the article, without the theme's header bar and side bars)."""
    return soup.find("article") or soup.find("main") or soup


@pytest.fixture(scope="module")
def soups(built_book):
    return {name: _soup(built_book, name) for name in PAGES}


def test_code_is_folded_in_the_chapters(soups):
    """Every code cell of a chapter is folded behind a toggle (or removed): the reader sees outputs only."""
    for name, soup in soups.items():
        if name in CODE_SHOWN:
            continue
        shown = [cell for cell in _main(soup).select("div.cell_input") if cell.find_parent("details") is None]
        assert not shown, f"{name}: {len(shown)} code cell(s) shown unfolded, e.g. {shown[0].get_text()[:120]!r}"


def test_folded_code_is_in_the_page(soups):
    """Folding hides code, it does not remove it: every code cell not tagged remove-* has its source in the
    page (inside its toggle), and in the notebook that Binder opens."""
    import jupytext

    for name in PAGES:
        path = page_source(name, ROOT)
        if not is_notebook(path):
            continue
        cells = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
        kept = [c for c in cells if not {"remove-cell", "remove-input"} & set(c.metadata.get("tags", []))]
        folded = [c for c in kept if "hide-input" in c.metadata.get("tags", [])]
        inputs = _main(soups[name]).select("div.cell_input")
        assert len(inputs) == len(kept), f"{name}: {len(inputs)} code inputs in the page, {len(kept)} in the source"
        assert all(c.source.strip() for c in folded), f"{name}: an empty folded cell"
        if name not in CODE_SHOWN and name != "book/intro" and kept:  # a page whose only code is its setup folds none
            assert folded, f"{name}: no code cell is folded with hide-input"


def _figures(soups):
    for name in PAGES:
        for fig in _main(soups[name]).select("figure"):
            if fig.get("id") and fig.find("figcaption") is not None and fig.select_one("span.caption-number"):
                yield name, fig


def test_every_plotly_figure_is_a_numbered_figure_with_alt_text(soups):
    for name, soup in soups.items():
        for div in _main(soup).select("div.plotly-graph-div"):
            if div.find_parent(class_="setdyn-live") is not None:
                continue  # a control's static twin: numbered with its control below
            figure = div.find_parent("figure")
            assert figure is not None and figure.select_one("span.caption-number"), (
                f"{name}: plotly figure {div.get('id')} is not a numbered figure")
            wrapper = div.find_parent(class_="setdyn-figure")
            assert wrapper is not None and len((wrapper.get("aria-label") or "").strip()) > 20, (
                f"{name}: plotly figure {div.get('id')} has no alt text (aria-label)")
            assert wrapper.get("role") in ("img", "group")


def test_figures_are_numbered_through_the_book_and_cited(soups):
    """Fig. 1, 2, ... in reading order, each cited (``{numref}``) from the prose of some page."""
    numbers, ids = [], []
    for name, fig in _figures(soups):
        text = fig.select_one("span.caption-number").get_text(strip=True)
        match = re.fullmatch(r"Fig\.\s*(\d+)", text.rstrip(". "))
        assert match, f"{name}: figure {fig['id']} is labelled {text!r}"
        numbers.append(int(match.group(1)))
        caption = fig.select_one("span.caption-text")
        assert caption is not None and len(caption.get_text(strip=True)) > 10, f"{name}: {fig['id']} has no caption"
        ids.append((name, fig["id"]))
    assert numbers == list(range(1, len(numbers) + 1)), f"figure numbers out of order: {numbers}"
    assert len(numbers) >= 25, f"only {len(numbers)} numbered figures"
    first = ids[0]
    assert first == ("book/intro", "fig-hero"), f"the first figure is {first}, not the hero"

    cited = set()
    for name, soup in soups.items():
        for a in _main(soup).select("a.reference"):
            if a.find_parent("figcaption") is None and "#" in (a.get("href") or ""):
                cited.add(a["href"].rsplit("#", 1)[1])
    uncited = [f"{name}#{fid}" for name, fid in ids if fid not in cited]
    assert not uncited, f"figures never cited from the prose: {uncited}"


def test_glossary_terms_are_defined_and_linked(soups, built_book):
    glossary = _soup(built_book, "book/glossary")
    terms = {"".join(dt.find_all(string=True, recursive=False)).strip(): dt.get("id") for dt in glossary.select("dl.glossary dt")}
    missing = [t for t in GLOSSARY_TERMS if t not in terms]
    assert not missing, f"glossary lacks {missing}; has {sorted(terms)}"
    linked = set()
    for name, soup in soups.items():
        if name == "book/glossary":
            continue
        for a in _main(soup).select('a[href*="glossary.html#term-"]'):
            linked.add(a["href"].rsplit("#", 1)[1])
    unlinked = [t for t in GLOSSARY_TERMS if terms[t] not in linked]
    assert not unlinked, f"glossary terms never linked from a page: {unlinked}"


def test_intro_has_the_reference_and_how_to_cite(soups):
    intro = _main(soups["book/intro"])
    text = intro.get_text(" ", strip=True)
    assert intro.select_one(f'a[href="{paper.ARXIV_URL}"]') is not None, "no arXiv link in the introduction"
    assert paper.PAPER_TITLE in text and paper.PAPER_AUTHORS[0] in text
    bib = intro.get_text()
    assert f"eprint        = {{{paper.ARXIV_ID}}}" in bib and "@misc{setdyn," in bib, "no BibTeX to cite with"
    assert "make book" not in text, "build commands belong in the appendix, not the introduction"
    hero = intro.select_one("figure#fig-hero .setdyn-hero")
    assert hero is not None, "the introduction does not show the hero figure"
    figure = intro.select_one("figure#fig-hero")
    before = [el for el in figure.find_all_previous(["p", "pre", "table", "figure", "ul"])
              if el.find_parent("article") and el not in figure.parents]
    assert len(before) <= 1, f"the hero comes after {len(before)} blocks of text (only the reference may precede it)"


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_hero_on_the_first_screen(size, guarded_page, book_server):
    """The intro opens on the hero: its plot and its colour buttons are visible without scrolling."""
    guarded = guarded_page(viewport=VIEWPORTS[size])
    page = guarded.page
    page.goto(book_server + "book/intro.html", wait_until="load")
    page.wait_for_selector(".setdyn-hero .sh-plot")
    height = VIEWPORTS[size]["height"]
    for selector in (".setdyn-hero .sh-plot", '.setdyn-hero button[data-color="R"]'):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (size, selector, box)
    guarded.assert_clean(f"intro at {size}")
