"""Full texts: sections with PaSa-style names, bibliography entries and which section cites which."""
