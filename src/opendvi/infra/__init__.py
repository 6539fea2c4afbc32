"""The machinery under the use-cases: the photo store, image decoding, the queue of work
kept in the database, the background worker, and progress bars. Nothing here knows a
domain rule."""
