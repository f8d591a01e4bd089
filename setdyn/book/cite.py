"""How to cite: the paper's reference (from :mod:`setdyn.paper`) and the book's (from ``_config.yml``).

The introduction shows both as BibTeX, so nothing about either is typed twice:
the paper's authors, title, year and arXiv id live in :mod:`setdyn.paper`, the
book's title, authors, year and repository URL in ``_config.yml`` (the block
that changes when the repository moves).
"""
from __future__ import annotations

from pathlib import Path

from .. import paper

ROOT = Path(__file__).resolve().parents[2]


def _bibtex_authors(authors: tuple[str, ...] | list[str]) -> str:
    """'K. T. Murray' -> 'Murray, K. T.'; several joined with ' and ' (BibTeX's rule)."""
    out = []
    for name in authors:
        *given, family = name.split()
        out.append(f"{family}, {' '.join(given)}" if given else family)
    return " and ".join(out)


def paper_reference_markdown() -> str:
    """The paper's full reference as one line of Markdown, with the arXiv link."""
    return (f"{', '.join(paper.PAPER_AUTHORS)}, *{paper.PAPER_TITLE}*, {paper.PAPER_YEAR}, "
            f"[arXiv:{paper.ARXIV_ID}]({paper.ARXIV_URL})")


def paper_bibtex() -> str:
    """BibTeX entry (``@misc``, arXiv eprint) of the paper."""
    family = paper.PAPER_AUTHORS[0].split()[-1].lower()
    return (
        f"@misc{{{family}{paper.PAPER_YEAR},\n"
        f"  author        = {{{_bibtex_authors(paper.PAPER_AUTHORS)}}},\n"
        f"  title         = {{{paper.PAPER_TITLE}}},\n"
        f"  year          = {{{paper.PAPER_YEAR}}},\n"
        f"  eprint        = {{{paper.ARXIV_ID}}},\n"
        f"  archivePrefix = {{arXiv}},\n"
        f"  url           = {{{paper.ARXIV_URL}}}\n"
        "}"
    )


def book_bibtex(config: str | Path = ROOT / "_config.yml") -> str:
    """BibTeX entry (``@misc``) of this book, from its ``_config.yml`` (title, author, copyright year, repository).

    Raises
    ------
    ValueError
        If ``_config.yml`` lacks ``title``, ``author``, ``copyright`` or ``repository.url``.
    """
    import yaml

    cfg = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    missing = [k for k in ("title", "author", "copyright") if not cfg.get(k)]
    url = (cfg.get("repository") or {}).get("url")
    if not url:
        missing.append("repository.url")
    if missing:
        raise ValueError(f"{config}: the book's reference needs {missing} in _config.yml")
    author = str(cfg["author"]).split(",")[0].strip()  # "the setdyn authors, reproducing ..." -> "the setdyn authors"
    return (
        "@misc{setdyn,\n"
        f"  author = {{{{{author[0].upper() + author[1:]}}}}},\n"
        f"  title  = {{{cfg['title']}: a reproduction, figure by figure}},\n"
        f"  year   = {{{cfg['copyright']}}},\n"
        f"  url    = {{{url}}},\n"
        f"  note   = {{Reproduces {paper.CITATION}}}\n"
        "}"
    )
