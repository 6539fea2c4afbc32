"""The pure domain of OpenDVI: records' vocabulary and uncertain values.

Nothing in this package touches a database, a file or a network; it imports the
standard library only (a test checks), so it can be reasoned about and tested alone.
"""
