"""The weekly cost and quality review: windows, the figures (one SQL module), and the files they are written to."""
