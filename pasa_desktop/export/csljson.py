"""CSL-JSON out and in: the format of citeproc, Pandoc and Zotero's Better CSL JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from engine.papers import find_arxiv_id, find_doi
from pasa_desktop.export import names
from pasa_desktop.export.record import MAX_FIELD_CHARS, Parsed, Record, Skipped, kind, link, own_url, pages

_TYPES = {"conference": "paper-conference", "journal": "article-journal", "preprint": "article"}  # CSL's preprint


def csl_type(record: Record) -> str:
    return _TYPES[kind(record)]


def name_to_csl(name: str) -> dict[str, str]:
    n = names.parse(name)
    item = {"family": n.last, "given": n.first, "non-dropping-particle": n.von, "suffix": n.jr}
    return {k: v for k, v in item.items() if v} or {"family": name}


def name_from_csl(data: Any) -> str:
    if isinstance(data, str):
        return " ".join(data.split())
    if not isinstance(data, dict):
        return ""
    if data.get("literal"):
        return " ".join(str(data["literal"]).split())

    def part(*keys: str) -> str:
        return " ".join(" ".join(str(data[k]).split()) for k in keys if data.get(k))

    return names.stored(
        names.Name(
            first=part("given"),
            von=part("dropping-particle", "non-dropping-particle"),
            last=part("family"),
            jr=part("suffix"),
        )
    )


def to_item(r: Record) -> dict[str, Any]:
    item: dict[str, Any] = {"id": r.citekey, "type": csl_type(r), "title": r.title}
    if r.authors:
        item["author"] = [name_to_csl(a) for a in r.authors]
    if r.year:
        item["issued"] = {"date-parts": [[r.year]]}
    if r.venue:
        item["container-title"] = r.venue
    if r.arxiv_id:
        item["number"] = f"arXiv:{r.arxiv_id}"
        if not r.venue:
            item["publisher"] = "arXiv"
    for key, value in (("volume", r.volume), ("issue", r.issue), ("publisher", r.publisher), ("ISBN", r.isbn)):
        if value:
            item[key] = value
    if r.pages:
        item["page"] = r.pages
    if r.doi:
        item["DOI"] = r.doi
    url = link(r)
    if url:
        item["URL"] = url
    if r.abstract:
        item["abstract"] = r.abstract
    if r.tags:
        item["keyword"] = ", ".join(r.tags)
    if r.notes:
        item["note"] = "\n\n".join(r.notes)
    if r.primary_class:
        item["categories"] = [r.primary_class]
    return item


# JSON escapes C0 controls itself; DEL and the C1 range (0x9b is a terminal's CSI) are written as
# escapes too, so the file never carries terminal codes and still reads back exactly.
_C1 = re.compile("[\x7f-\x9f]")


def dumps(records: Iterable[Record]) -> str:
    text = json.dumps([to_item(r) for r in records], ensure_ascii=False, indent=2) + "\n"
    return _C1.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def _year(issued: Any) -> int | None:
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            try:
                return int(parts[0][0])
            except (TypeError, ValueError):
                return None
        for key in ("raw", "literal"):
            if isinstance(issued.get(key), str):
                m = re.search(r"\b(1[5-9]\d\d|2\d\d\d)\b", issued[key])
                return int(m.group(1)) if m else None
    return None


def from_item(item: Any) -> Record | str:
    if not isinstance(item, dict):
        return f"not an object but {type(item).__name__}"
    for key, value in item.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            return f"field {key!r} is too large ({len(value):,} characters)"
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        return "no title"
    authors_raw = item.get("author") or []
    if not isinstance(authors_raw, list):
        return "'author' is not a list"

    def text(key: str) -> str:
        value = item.get(key)
        return value if isinstance(value, str) else ""

    def scalar(key: str) -> str | None:
        # CSL allows numbers for volume, issue and page.
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return None
        return " ".join(str(value).split()) or None

    number, url, doi_raw = text("number"), text("URL").strip(), text("DOI")
    arxiv = find_arxiv_id(number) if "arxiv" in number.lower() else None
    if arxiv is None and "arxiv.org" in url:
        arxiv = find_arxiv_id(url)
    if arxiv is None and "10.48550/arxiv." in doi_raw.lower():
        arxiv = find_arxiv_id(doi_raw)
    url = own_url(url, arxiv) or ""
    venue = " ".join(text("container-title").split())
    keywords = item.get("keyword")
    tags: tuple[str, ...] = ()
    if isinstance(keywords, str):
        tags = tuple(t.strip() for t in re.split(r"[,;]", keywords) if t.strip())
    elif isinstance(keywords, list):
        tags = tuple(str(t).strip() for t in keywords if str(t).strip())
    categories = item.get("categories")
    return Record(
        citekey=str(item.get("id") or ""),
        title=" ".join(title.split()),
        authors=tuple(n for n in (name_from_csl(a) for a in authors_raw) if n),
        year=_year(item.get("issued")),
        venue=venue or None,
        arxiv_id=arxiv,
        doi=find_doi(doi_raw) or (doi_raw.strip().lower() or None),
        url=url or None,
        abstract=text("abstract").strip(),
        tags=tags,
        notes=tuple(n for n in text("note").split("\n\n") if n.strip()),
        primary_class=str(categories[0]) if isinstance(categories, list) and categories and arxiv else None,
        volume=scalar("volume"),
        issue=scalar("issue"),
        pages=pages(scalar("page") or ""),
        publisher=None if text("publisher") == "arXiv" and arxiv else scalar("publisher"),
        isbn=scalar("ISBN"),
    )


def loads(text: str) -> Parsed:
    parsed = Parsed()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        parsed.skipped.append(Skipped("whole file", f"not valid JSON: {exc.msg} (line {exc.lineno})"))
        return parsed
    except RecursionError:
        parsed.skipped.append(Skipped("whole file", "JSON nested too deeply to be a bibliography"))
        return parsed
    if isinstance(data, dict):
        data = data.get("items", [data]) if "title" not in data else [data]
    if not isinstance(data, list):
        parsed.skipped.append(Skipped("whole file", "CSL-JSON is a list of items"))
        return parsed
    seen: set[str] = set()
    for i, item in enumerate(data, start=1):
        try:
            result = from_item(item)
        except RecursionError:
            result = "nested too deeply"
        ident = item.get("id") if isinstance(item, dict) else None
        where = f"item {i}" + (f" ({ident!r})" if ident else "")
        if isinstance(result, str):
            parsed.skipped.append(Skipped(where, result))
        elif result.citekey and result.citekey in seen:
            parsed.skipped.append(Skipped(where, "duplicate id"))
        else:
            seen.add(result.citekey)
            parsed.records.append(result)
    return parsed
