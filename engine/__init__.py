"""PaSa Desktop's engine: papers, sources, models and the search agent.

The engine is a plain library: no Qt, no ORM, no app code. It emits typed events
(`engine.events`) and takes everything it needs (settings, sources, models, HTTP
clients) as arguments.
"""

__version__ = "0.1.0"
