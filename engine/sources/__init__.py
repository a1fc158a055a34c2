"""Paper sources behind the `PaperSource` protocol: the offline index and online search APIs."""
