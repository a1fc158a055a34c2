"""PaSa Desktop's app shell: settings, library, import/export, command line and wiring."""

__version__ = "0.1.0"
