"""The PaSa agent: prompts, Crawler, Selector, queue and the search loop."""
