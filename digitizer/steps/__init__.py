"""The steps: detect, fingerprint, scan, rip, transcode, insert.

Each calls only the format interface (digitizer.formats) for what depends on the kind of
disc. File work is a pure function of paths and a progress callback (so it can run on
another machine); the step around it does the claim (claim.py), `.part` -> verify ->
rename, the marker and the catalog.
"""
