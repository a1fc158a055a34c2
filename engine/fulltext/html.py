"""arXiv LaTeXML HTML (arxiv.org/html, ar5iv) → sections with PaSa two-level names, bibliography, citations.

LaTeXML marks everything with classes: `section.ltx_section` / `.ltx_appendix` with an `h2.ltx_title`
(a `span.ltx_tag` carries the number), `section.ltx_subsection`, the bibliography `ul.ltx_biblist >
li.ltx_bibitem[id=bib.bibN]` split into `span.ltx_bibblock`s (authors / title / venue, one `\\newblock`
each) and citations `cite a.ltx_ref[href="#bib.bibN"]`. Every anchor of a citation group is kept (PaSa's
released parser split groups on "," and kept a leading space, losing all but the first).

The stdlib HTML parser builds a small tree; it tolerates truncated and malformed pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

from engine.errors import FullTextError
from engine.fulltext.bibliography import parse_bib_entry, plausible_title
from engine.fulltext.model import BibEntry, FullText, Section
from engine.papers import find_arxiv_id, find_doi

_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_SKIP = frozenset({"script", "style", "head", "annotation", "annotation-xml"})
_BIB_HREF = re.compile(r"#(bib\.bib\d+)$")
_SPACES = re.compile(r"\s+")
_TOP_CLASSES = ("ltx_section", "ltx_appendix", "ltx_chapter")


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def has_class(self, *names: str) -> bool:
        return bool(self.classes.intersection(names))

    def iter(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find(self, *classes: str, tag: str | None = None) -> Node | None:
        for node in self.iter():
            if (tag is None or node.tag == tag) and (not classes or node.has_class(*classes)):
                return node
        return None

    def text(self, *, skip: tuple[str, ...] = ()) -> str:
        parts: list[str] = []
        self._collect(parts, skip)
        return _SPACES.sub(" ", "".join(parts)).strip()

    def _collect(self, parts: list[str], skip: tuple[str, ...]) -> None:
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag == "math":
                parts.append(" " + child.attrs.get("alttext", "") + " ")
            elif child.tag in _SKIP or (skip and child.has_class(*skip)):
                continue
            else:
                if child.tag in ("p", "div", "li", "br", "h1", "h2", "h3", "h4", "h5", "h6", "tr"):
                    parts.append(" ")
                child._collect(parts, skip)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack: list[Node] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(node)

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open tag; a stray end tag closes nothing.
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def _heading(section: Node) -> Node | None:
    for child in section.children:
        if isinstance(child, Node) and child.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return child
    return None


def _label(section: Node) -> str:
    head = _heading(section)
    if head is None:
        return ""
    tag_node = head.find("ltx_tag")
    number = tag_node.text() if tag_node is not None else ""
    number = re.sub(r"^(?:Appendix|Chapter|Section)\s+", "", number).strip().rstrip(".:")
    title = head.text(skip=("ltx_tag",))
    return f"{number} {title}".strip() if number else title


def _inside_top(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == "section" and parent.has_class(*_TOP_CLASSES):
            return True
        parent = parent.parent
    return False


def _own_nodes(section: Node, nested: tuple[str, ...]) -> list[Node | str]:
    """Children of a section other than its heading and nested sections of the given classes."""
    out: list[Node | str] = []
    head = _heading(section)
    for child in section.children:
        if child is head:
            continue
        if isinstance(child, Node) and child.tag == "section" and child.has_class(*nested):
            continue
        out.append(child)
    return out


def _text_and_cites(nodes: list[Node | str]) -> tuple[str, list[str]]:
    holder = Node("#group", {}, children=nodes)
    cites: list[str] = []
    for node in holder.iter():
        if node.tag == "a":
            match = _BIB_HREF.search(node.attrs.get("href", ""))
            if match and match.group(1) not in cites:
                cites.append(match.group(1))
    return holder.text(skip=("ltx_bibliography",)), cites


def _bibliography(root: Node) -> dict[str, BibEntry]:
    entries: dict[str, BibEntry] = {}
    biblist = root.find("ltx_biblist")
    if biblist is None:
        return entries
    for item in biblist.iter():
        if item.tag != "li" or not item.attrs.get("id", "").startswith("bib."):
            continue
        entry_id = item.attrs["id"]
        blocks = [b.text() for b in item.iter() if b.has_class("ltx_bibblock")]
        raw = " ".join(b for b in blocks if b) or item.text(skip=("ltx_tag_bibitem",))
        links = " ".join(a.attrs.get("href", "") for a in item.iter() if a.tag == "a")
        # With one \newblock per field, the second block is the title in plain/natbib/ACL styles.
        block_title = None
        if len(blocks) >= 3:
            # "Llama 3.1 model card, 2024." -> the title without a trailing year
            candidate = re.sub(r",?\s*\(?(?:19|20)\d{2}[a-z]?\)?$", "", blocks[1].rstrip(". ")).rstrip(" ,.")
            block_title = plausible_title(candidate)
        entry = parse_bib_entry(entry_id, raw, title=block_title)
        if entry.arxiv_id is None and "arxiv.org" in links:
            entry = _with_ids(entry, arxiv_id=find_arxiv_id(links))
        if entry.doi is None and "doi.org" in links:
            entry = _with_ids(entry, doi=find_doi(links))
        entries[entry_id] = entry
    return entries


def _with_ids(entry: BibEntry, *, arxiv_id: str | None = None, doi: str | None = None) -> BibEntry:
    return BibEntry(
        id=entry.id,
        raw=entry.raw,
        title=entry.title,
        arxiv_id=arxiv_id or entry.arxiv_id,
        doi=doi or entry.doi,
        year=entry.year,
        authors=entry.authors,
        ids=entry.ids,
    )


def fulltext_from_html(html: str, *, paper_id: str, origin: str = "arxiv-html") -> FullText:
    """Parse one LaTeXML page. Raises FullTextError when the page holds no article (an error page)."""
    root = parse_html(html)
    article = root.find("ltx_document") or root
    title_node = article.find("ltx_title_document")
    abstract_node = article.find("ltx_abstract")
    sections: list[Section] = []
    tops = [
        n
        for n in article.iter()
        if n.tag == "section"
        and n.has_class(*_TOP_CLASSES)
        and not n.has_class("ltx_bibliography")
        and not _inside_top(n)
    ]
    for top in tops:
        top_label = _label(top) or "Untitled section"
        # In a book (a thesis) chapters are the first level and their sections the second.
        second = ("ltx_section",) if top.has_class("ltx_chapter") else ("ltx_subsection",)
        own_text, own_cites = _text_and_cites(_own_nodes(top, second))
        subs = [c for c in top.children if isinstance(c, Node) and c.tag == "section" and c.has_class(*second)]
        if own_text or own_cites or not subs:
            sections.append(Section(name=top_label, text=own_text, cites=tuple(own_cites)))
        for sub in subs:
            # Everything below a subsection (subsubsections, paragraphs) belongs to it: names stay two-level.
            text, cites = _text_and_cites(_own_nodes(sub, ()))
            sections.append(Section(name=f"{top_label} {_label(sub)}".strip(), text=text, cites=tuple(cites)))
    bibliography = _bibliography(article)
    if not tops:
        body = [c for c in article.children if not (isinstance(c, Node) and c.has_class("ltx_bibliography"))]
        text, cites = _text_and_cites(body)
        if cites or (text and bibliography):
            sections.append(Section(name="Main text", text=text, cites=tuple(cites)))
    if not sections and not bibliography:
        raise FullTextError(f"{paper_id}: the page holds no LaTeXML article (no sections, no bibliography)")
    return FullText(
        paper_id=paper_id,
        title=title_node.text(skip=("ltx_tag",)) if title_node is not None else "",
        abstract=abstract_node.text(skip=("ltx_title",)) if abstract_node is not None else "",
        sections=tuple(sections),
        bibliography=bibliography,
        origin=origin,
    )
