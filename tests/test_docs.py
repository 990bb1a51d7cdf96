"""The manual is a site a reader can walk: every page is in mkdocs.yml's nav, every relative link and
image on a page (and in the README) leads to a file, and the other branches' notes stay out of the build.

`.ci/run` builds the site itself with `mkdocs build --strict`; these checks need no MkDocs.
"""
import re

from conftest import ROOT

DOCS = ROOT / "docs"
CONFIG = (ROOT / "mkdocs.yml").read_text()
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def nav_pages() -> list[str]:
    nav = CONFIG[CONFIG.index("\nnav:\n"):].split("\nvalidation:")[0]  # the nav runs up to the next key
    return re.findall(r"^  - [^:]+: (\S+\.md)$", nav, re.M)


def pages() -> list[str]:
    return sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if "_incoming" not in p.parts)


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page():
    assert sorted(nav_pages()) == pages()
    assert len(nav_pages()) == len(set(nav_pages()))


def links(path):
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # code blocks hold no links
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def test_every_relative_link_resolves():
    broken = []
    for source in [ROOT / "README.md"] + [DOCS / p for p in pages()]:
        for target in links(source):
            file, _, anchor = target.partition("#")
            resolved = (source.parent / file).resolve() if file else source
            if not resolved.is_file():
                broken.append(f"{source.relative_to(ROOT)}: {target}")
            elif source.parent != ROOT and DOCS not in resolved.parents:
                broken.append(f"{source.relative_to(ROOT)}: {target} leaves docs/ (the site would not have it)")
            elif anchor and resolved.suffix == ".md":
                headings = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                            for h in re.findall(r"^#+ (.*)$", resolved.read_text(), re.M)}
                if anchor not in headings:
                    broken.append(f"{source.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, broken


def test_the_readme_links_every_page_of_the_manual():
    readme_targets = {t for t in links(ROOT / "README.md") if t.startswith("docs/") and t.endswith(".md")}
    assert readme_targets == {f"docs/{p}" for p in pages()}


def test_the_other_branches_notes_never_reach_the_strict_build():
    excluded = CONFIG[CONFIG.index("exclude_docs: |"):].split("\n")[1:3]
    assert "  _incoming/" in excluded


def test_the_link_check_finds_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[ok](page.md) [gone](missing.md) `[code](not-a-link.md)`\n```\n[x](in-a-block.md)\n```\n")
    assert links(page) == ["page.md", "missing.md", "not-a-link.md"]
