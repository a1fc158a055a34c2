"""Bibliographies in and out: BibTeX (arXiv's form, Better-BibTeX keys), RIS and CSL-JSON."""

from pasa_desktop.export.exporter import EXTENSIONS, FORMATS, Selection, export, records, render
from pasa_desktop.export.importer import ImportReport, import_file, parse_file
from pasa_desktop.export.record import Parsed, Record, Skipped

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "ImportReport",
    "Parsed",
    "Record",
    "Selection",
    "Skipped",
    "export",
    "import_file",
    "parse_file",
    "records",
    "render",
]
