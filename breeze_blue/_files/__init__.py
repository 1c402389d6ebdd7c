"""Writing files: the atomic write (a temporary file renamed into place) and the writers.

``save()`` and ``asave()`` both write through ``atomic.AtomicFile`` and the sinks
in ``sinks``; nothing here knows about HTTP.
"""
