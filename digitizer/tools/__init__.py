"""One module per external program: its argument lists, the pure parsers of its output
(tested on captured real transcripts in tests/data) and its install hint. `run.py` is the
only module that starts processes."""

# The manual pages of the programs digitizer runs (man digitizer's SEE ALSO).
MAN_PAGES = (("ffmpeg", 1), ("lsdvd", 1), ("eject", 1))
